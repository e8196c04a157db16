/**
 * Downloads end to end, as `transfer_test.ts` has uploads: a tree with its
 * names, empty entries, modes and times; a large file byte for byte;
 * twenty clients at once; a rerun that gets nothing twice and never
 * silently replaces a different file; a sharing server that goes on until
 * a client got everything; IPv6; and a server that is not there.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { hashFile } from "../lib/store/hash.ts";
import { freePort } from "./conditions.ts";
import {
  listTree,
  randomFile,
  ROOT,
  runClient,
  ServerProcess,
  startServer,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";

const MiB = 1024 * 1024;

/** `client.ts --get` from 127.0.0.1:`port` into `dir`, and `args`. */
function get(port: number, dir: string, ...args: string[]) {
  return runClient(["--get", ...args, `127.0.0.1:${port}`, "--dir", dir]);
}

Deno.test("a shared tree arrives with its names, contents, empty entries, modes and times", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const tree = join(source.path, "tree");
  const files: Record<string, string> = {
    "données/résumé ü.txt": "unicode and a space\n",
    "日本語/ファイル.txt": "こんにちは\n",
    "with space/empty.txt": "",
    "a/b/c/d/e/deep.txt": "five levels down\n",
    "run.sh": "#!/bin/sh\necho hi\n",
  };
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(join(tree, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(tree, path), text);
  }
  await Deno.mkdir(join(tree, "empty folder"));
  await Deno.chmod(join(tree, "run.sh"), 0o755);
  await Deno.chmod(join(tree, "données/résumé ü.txt"), 0o600);
  const past = new Date("2020-02-03T04:05:06.789Z");
  await Deno.utime(join(tree, "a/b/c/d/e/deep.txt"), past, past);
  await Deno.utime(join(tree, "empty folder"), past, past);
  await Deno.symlink("/etc/passwd", join(tree, "link-to-passwd"));

  await using server = await startServer(["--share", tree]);
  await server.waitFor(
    /Skipping .*link-to-passwd: a symbolic link, not followed/,
  );
  const client = await get(server.port, dest.path);
  assert.equal(client.code, 0, client.stderr);
  assert.equal((await server.exited()).code, 0);
  assert.deepEqual(await listTree(dest.path), [
    "tree/",
    "tree/a/",
    "tree/a/b/",
    "tree/a/b/c/",
    "tree/a/b/c/d/",
    "tree/a/b/c/d/e/",
    "tree/a/b/c/d/e/deep.txt",
    "tree/données/",
    "tree/données/résumé ü.txt",
    "tree/empty folder/",
    "tree/run.sh",
    "tree/with space/",
    "tree/with space/empty.txt",
    "tree/日本語/",
    "tree/日本語/ファイル.txt",
  ]);
  for (const [path, text] of Object.entries(files)) {
    assert.equal(await Deno.readTextFile(join(dest.path, "tree", path)), text);
  }
  const stat = (path: string) => Deno.stat(join(dest.path, "tree", path));
  assert.equal((await stat("run.sh")).mode! & 0o777, 0o755);
  assert.equal((await stat("données/résumé ü.txt")).mode! & 0o777, 0o600);
  for (const path of ["a/b/c/d/e/deep.txt", "empty folder"]) {
    assert.equal((await stat(path)).mtime!.getTime(), past.getTime(), path);
  }
});

Deno.test("a shared 256 MiB random file arrives byte-identical", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const big = join(source.path, "big.bin");
  await randomFile(big, 256 * MiB);
  await using server = await startServer(["--share", big]);
  const client = await get(server.port, dest.path);
  assert.equal(client.code, 0, client.stderr);
  assert.equal((await server.exited()).code, 0);
  assert.equal((await Deno.stat(join(dest.path, "big.bin"))).size, 256 * MiB);
  assert.equal(await hashFile(join(dest.path, "big.bin")), await hashFile(big));
});

Deno.test("20 clients at once all get the shared files verified", async () => {
  await using source = await tempDir();
  const data = await randomFile(join(source.path, "shared.bin"), MiB + 7);
  await using server = await startServer([
    "--share",
    "--keep-sharing",
    join(source.path, "shared.bin"),
  ]);
  const dests = await Promise.all(Array.from({ length: 20 }, () => tempDir()));
  try {
    const results = await Promise.all(
      dests.map((dest) => get(server.port, dest.path)),
    );
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    for (const dest of dests) {
      assert.deepEqual(
        await Deno.readFile(join(dest.path, "shared.bin")),
        data,
      );
    }
    await server.waitFor(
      /(\] done: 1 of 1 files sent and verified, 0 already there, 0 failed[^]*){20}/,
    );
  } finally {
    for (const dest of dests) await dest[Symbol.asyncDispose]();
  }
});

Deno.test("a rerun gets nothing twice, and a different local file is never silently replaced", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const tree = join(source.path, "docs");
  await Deno.mkdir(tree);
  await Deno.writeTextFile(join(tree, "a.txt"), "first\n");
  await Deno.writeTextFile(join(tree, "b.txt"), "second\n");
  await using server = await startServer(["--share", "--keep-sharing", tree]);

  const first = await get(server.port, dest.path);
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stdout,
    /2 of \d+ files received and verified, 0 already there/,
  );

  const second = await get(server.port, dest.path);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /already there {2}docs\/a\.txt/);
  assert.match(
    second.stdout,
    /0 of 2 files received and verified, 2 already there, 0 failed\n0 B/,
  );

  // Same size, other content here: refused and left as it was.
  await Deno.writeTextFile(join(dest.path, "docs/a.txt"), "FIRST\n");
  // Other size: refused the same way, which tells nothing of the size.
  await Deno.writeTextFile(join(dest.path, "docs/b.txt"), "second, mine\n");
  const third = await get(server.port, dest.path);
  assert.equal(third.code, 1);
  assert.match(third.stderr, /^failed {2}docs\/a\.txt: /m);
  assert.match(third.stderr, /^failed {2}docs\/b\.txt: /m);
  assert.equal(
    await Deno.readTextFile(join(dest.path, "docs/a.txt")),
    "FIRST\n",
  );
  assert.equal(
    await Deno.readTextFile(join(dest.path, "docs/b.txt")),
    "second, mine\n",
  );
  assert.deepEqual(await listTree(dest.path), [
    "docs/",
    "docs/a.txt",
    "docs/b.txt",
  ]);
});

Deno.test("a sharing server goes on after a client that did not get everything, and ends after one that did", async () => {
  await using source = await tempDir();
  await using refusing = await tempDir();
  await using dest = await tempDir();
  await Deno.writeTextFile(join(source.path, "x.txt"), "the server's\n");
  await Deno.writeTextFile(join(refusing.path, "x.txt"), "mine, kept\n");
  await using server = await startServer([
    "--share",
    join(source.path, "x.txt"),
  ]);
  const refused = await get(server.port, refusing.path);
  assert.equal(refused.code, 1);
  await server.waitFor(
    /done: 0 of 1 files sent and verified, 0 already there, 1 failed/,
  );
  const whole = await get(server.port, dest.path);
  assert.equal(whole.code, 0, whole.stderr);
  const exit = await server.exited();
  assert.equal(exit.code, 0, exit.stderr);
  assert.equal(
    await Deno.readTextFile(join(refusing.path, "x.txt")),
    "mine, kept\n",
  );
});

Deno.test("a download over IPv6 loopback as [::1]:PORT", async (t) => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
  } catch {
    console.log("skipped: this machine has no IPv6 loopback");
    return;
  }
  await using dest = await tempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "server.ts"),
      "--host",
      "::1",
      "--port",
      "0",
      "--share",
      join(ROOT, "main.txt"),
    ],
    stdout: "piped",
    stderr: "piped",
    env: { FT_CODE: TEST_CODE },
  }).spawn();
  await using server = new ServerProcess(child);
  const match = await server.waitFor(/Listening on \[::1\]:(\d+)/);
  await t.step("get", async () => {
    const client = await runClient([
      "--get",
      `[::1]:${match[1]}`,
      "--dir",
      dest.path,
    ]);
    assert.equal(client.code, 0, client.stderr);
  });
  assert.equal((await server.exited()).code, 0);
  assert.deepEqual(
    await Deno.readFile(join(dest.path, "main.txt")),
    await Deno.readFile(join(ROOT, "main.txt")),
  );
});

Deno.test("a get reports a server that is not running", async () => {
  await using dest = await tempDir();
  const port = freePort();
  const client = await get(port, dest.path);
  assert.equal(client.code, 1);
  assert.equal(
    client.stderr.trim(),
    `client: Connection refused by 127.0.0.1:${port}: is server.ts running there?`,
  );
  assert.deepEqual(await listTree(dest.path), []);
});

Deno.test("a folder that was already there keeps its mode", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  await Deno.mkdir(join(source.path, "shared"));
  await Deno.writeTextFile(join(source.path, "shared/new.txt"), "new\n");
  await Deno.chmod(join(source.path, "shared"), 0o777);
  await Deno.mkdir(join(dest.path, "shared"));
  await Deno.chmod(join(dest.path, "shared"), 0o700);
  await using server = await startServer([
    "--share",
    join(source.path, "shared"),
  ]);
  const client = await get(server.port, dest.path);
  assert.equal(client.code, 0, client.stderr);
  const info = await Deno.stat(join(dest.path, "shared"));
  assert.equal(info.mode! & 0o777, 0o700);
  assert.equal(
    await Deno.readTextFile(join(dest.path, "shared/new.txt")),
    "new\n",
  );
});
