import assert from "node:assert/strict";
import { join } from "node:path";
import { scanSources } from "../lib/store/scan.ts";
import { tempDir } from "./helpers.ts";

Deno.test("folders come before their contents, links are skipped with a warning", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "top/sub"), { recursive: true });
  await Deno.writeTextFile(join(dir.path, "top/sub/b.txt"), "bb");
  await Deno.writeTextFile(join(dir.path, "top/a.txt"), "a");
  await Deno.symlink(join(dir.path, "top/a.txt"), join(dir.path, "top/link"));
  await Deno.symlink(join(dir.path, "top"), join(dir.path, "toplink"));
  const scan = await scanSources([
    join(dir.path, "top"),
    join(dir.path, "toplink"),
  ]);
  assert.deepEqual(
    [...scan.entries].map((entry) => [entry.path, entry.kind, entry.size]),
    [["top", "folder", 0], ["top/a.txt", "file", 1], ["top/sub", "folder", 0], [
      "top/sub/b.txt",
      "file",
      2,
    ]],
  );
  assert.equal(scan.warnings.length, 2);
  assert.match(scan.warnings[0], /top\/link: a symbolic link, not followed/);
  assert.match(scan.warnings[1], /toplink: a symbolic link, not followed/);
});

Deno.test("each scanned entry knows where it lives and which inode it was, from its path alone", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "one/deep/er"), { recursive: true });
  await Deno.mkdir(join(dir.path, "other"));
  // More entries than the lists' first capacity, from two top-level
  // sources in different folders.
  for (let i = 0; i < 40; i++) {
    await Deno.writeTextFile(
      join(dir.path, `one/deep/er/f${i}`),
      "x".repeat(i),
    );
  }
  await Deno.writeTextFile(join(dir.path, "other/single.txt"), "single");
  const scan = await scanSources([
    join(dir.path, "one"),
    join(dir.path, "other/single.txt"),
  ]);
  assert.equal(scan.entries.length, 44);
  for (let index = 0; index < scan.entries.length; index++) {
    const entry = scan.entries.local(index);
    const info = await Deno.lstat(entry.source);
    assert.equal(entry.identity, `${info.dev}:${info.ino}`, entry.path);
    assert.equal(entry.size, info.isFile ? info.size : 0, entry.path);
    assert.equal(entry.kind, info.isFile ? "file" : "folder", entry.path);
    assert.equal(entry.mtime, Math.trunc(info.mtime!.getTime()), entry.path);
  }
  assert.equal(
    scan.entries.local(43).source,
    join(dir.path, "other/single.txt"),
  );
  assert.deepEqual(scan.entries.fileTotals(), {
    files: 41,
    bytes: 780 + 6,
  });
});

Deno.test("missing, special and clashing sources are named in one line", async () => {
  await using dir = await tempDir();
  await assert.rejects(
    () => scanSources([join(dir.path, "nope.txt")]),
    /^SourceError: Cannot send .*nope\.txt: no such file or folder$/,
  );
  const fifo = join(dir.path, "pipe");
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.ok(made.success);
  await assert.rejects(
    () => scanSources([fifo]),
    /Cannot send .*pipe: not a file or folder/,
  );
  await Deno.mkdir(join(dir.path, "x"));
  await Deno.mkdir(join(dir.path, "y/x"), { recursive: true });
  await assert.rejects(
    () => scanSources([join(dir.path, "x"), join(dir.path, "y/x")]),
    /both would be named x/,
  );
});

Deno.test("what inside a folder cannot be sent is left out, named, and the rest is listed", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "top/odd\\folder"), { recursive: true });
  await Deno.writeTextFile(join(dir.path, "top/odd\\folder/in.txt"), "i");
  await Deno.writeTextFile(join(dir.path, "top/back\\slash"), "b");
  await Deno.writeTextFile(join(dir.path, "top/new\nline"), "n");
  await Deno.writeTextFile(join(dir.path, "top/ok.txt"), "ok");
  const scan = await scanSources([join(dir.path, "top")]);
  assert.deepEqual([...scan.entries].map((entry) => entry.path), [
    "top",
    "top/ok.txt",
  ]);
  assert.deepEqual(scan.unsent, [
    "top/back\\slash",
    "top/new\\u000aline",
    "top/odd\\folder",
  ]);
  assert.equal(scan.warnings.length, 3);
  assert.match(
    scan.warnings[0],
    /^Cannot send .*top\/back\\slash: .*backslash/,
  );
  assert.match(scan.warnings[1], /^Cannot send .*top\/new\\u000aline: /);
});
