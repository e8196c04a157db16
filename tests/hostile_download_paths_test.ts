/**
 * A hostile sharing server's paths against `client.ts --get`, as
 * `hostile_paths_test.ts` has a hostile client's against the server: paths
 * the protocol refuses (and the longest legal ones, which are saved), and
 * symbolic links in the client's folder that entries would write through.
 *
 * The checks every refused case gets are in `hostile_download_harness.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileEntry, folderEntry } from "./hostile_client.ts";
import { encoder, sha256 } from "./hostile_harness.ts";
import {
  assertRefused,
  Downloads,
  getFrom,
} from "./hostile_download_harness.ts";
import { HostileSharer, sendWhole } from "./hostile_sharer.ts";
import { type Entry, quote } from "../protocol.ts";
import { listTree } from "./helpers.ts";

Deno.test("hostile sharer: invalid manifest paths are refused", async (t) => {
  const longAscii = ("p".repeat(200) + "/").repeat(25) + "end"; // 5028 chars
  const longBytes = ("é".repeat(100) + "/").repeat(21) + "end"; // 4224 bytes
  assert.ok(
    longBytes.length <= 4096 && encoder.encode(longBytes).length > 4096,
  );
  // [step name, path, the client's line]
  const cases: [string, string, string][] = [
    ["absolute", "/etc/x", "absolute"],
    ["dot-dot in the middle", "a/../../x", "has a .. component"],
    ["dot-dot alone", "..", "has a .. component"],
    ["empty", "", "empty"],
    ["dot", ".", "empty"],
    ["NUL", "a\u0000b", "contains a control character"],
    ["terminal escape", "\u001b[31mred", "contains a control character"],
    ["backslash", "a\\b", "contains a backslash"],
    ["drive letter with slash", "C:/x", "starts with a drive letter"],
    ["drive letter without slash", "c:x", "starts with a drive letter"],
    ["longer than 4096 bytes", longBytes, "longer than 4096 bytes"],
    ["255+ byte component", "a/" + "x".repeat(256), "has a component longer"],
    ["255+ byte UTF-8 component", "é".repeat(128), "has a component longer"],
    ["trailing slash", "a/", "has an empty component"],
  ].map(([name, path, why]) => [
    name,
    path,
    `Invalid path ${quote(path)}: ${why}`,
  ]);
  // No UTF-8 form: on disk it would become U+FFFD, so that two such names
  // would name the same file. (The client's line, in UTF-8, shows it so.)
  cases.push([
    "lone surrogate",
    "x\ud800",
    'Invalid path "x\ufffd": is not valid Unicode',
  ]);
  cases.push([
    "longer than 4096 characters",
    longAscii,
    "Field path in manifest entry 2 is too long",
  ]);
  for (const [name, path, line] of cases) {
    await t.step(`path: ${name}`, async () => {
      // Valid entries come first: nothing of them may be created either.
      const result = await getFrom(async (s) => {
        await s.manifest([
          folderEntry("pre"),
          fileEntry("ok.txt", 1),
          fileEntry(path, 1),
        ]);
        await s.readToEnd();
      });
      assertRefused(
        result,
        new RegExp(`^client: ${RegExp.escape(line)}`),
      );
    });
  }
});

Deno.test("hostile sharer: the longest legal names are saved, and a path longer than PATH_MAX below the folder", async () => {
  await using downloads = await Downloads.make();
  // 255, 254 and 252 UTF-8 bytes: legal, so they must be received, and
  // their staging names must be legal too.
  const names = ["x".repeat(255), "é".repeat(127), "😀".repeat(63)];
  // 4070 bytes is legal, but below the folder it exceeds PATH_MAX: the
  // client reaches each folder from the one before by descriptor.
  const deep = ("d".repeat(200) + "/").repeat(20) + "x".repeat(70);
  const all = [...names, deep];
  let messages: unknown[] = [];
  await using sharer = new HostileSharer(async (s) => {
    await s.manifest(all.map((name) => fileEntry(name, 4)));
    const decisions = await s.expect("decisions");
    assert.deepEqual(
      decisions.items,
      all.map(() => ({ action: "send", offset: 0 })),
    );
    for (const index of all.keys()) {
      await sendWhole(s, index, encoder.encode(`f${index}!!`));
    }
    await s.send({ type: "done" });
    messages = await s.readToEnd();
  });
  const result = await downloads.get(sharer.port);
  assert.equal(result.client.code, 0, result.client.stderr);
  assert.deepEqual(messages.at(-1), {
    type: "summary",
    verified: 4,
    failed: 0,
  });
  for (const [index, name] of names.entries()) {
    assert.equal(
      await Deno.readTextFile(join(downloads.dir, name)),
      `f${index}!!`,
    );
  }
  // Read back one folder at a time, as no single path reaches it.
  const read = await new Deno.Command("sh", {
    args: [
      "-c",
      `cd "$1" && for i in $(seq 20); do cd ${
        "d".repeat(200)
      } || exit 1; done && cat ${"x".repeat(70)}`,
      "sh",
      downloads.dir,
    ],
  }).output();
  assert.equal(new TextDecoder().decode(read.stdout), "f3!!");
  assert.deepEqual(result.outside, []);
  assert.deepEqual(result.staged, []);
});

/**
 * Offers `entries` to a client whose folder holds `dir/link -> outside`
 * (and what `prepare` adds); each must be refused for `reason`, and the
 * client must say so, one line for each.
 */
async function refused(
  entries: Entry[],
  reason: RegExp,
  prepare: (downloads: Downloads) => Promise<void> = async () => {},
): Promise<void> {
  await using downloads = await Downloads.make();
  await Deno.symlink(downloads.outside, join(downloads.dir, "link"));
  await prepare(downloads);
  const outsideBefore = await listTree(downloads.outside);
  let summary: unknown;
  await using sharer = new HostileSharer(async (s) => {
    await s.manifest(entries);
    const decisions = await s.expect("decisions");
    assert.equal(decisions.items.length, entries.length);
    for (const decision of decisions.items) {
      assert.equal(decision.action, "refuse");
      if (decision.action === "refuse") assert.match(decision.reason, reason);
    }
    await s.send({ type: "done" });
    summary = (await s.readToEnd()).at(-1);
  });
  const result = await downloads.get(sharer.port);
  assert.equal(result.client.code, 1, result.client.stderr);
  const lines = result.client.stderr.trim().split("\n");
  assert.equal(lines.length, entries.length, result.client.stderr);
  for (const [i, line] of lines.entries()) {
    assert.ok(line.startsWith(`failed  ${entries[i].path}: refused: `), line);
    assert.match(line, reason);
  }
  assert.deepEqual(summary, {
    type: "summary",
    verified: 0,
    failed: entries.length,
  });
  assert.deepEqual(result.added, []);
  assert.deepEqual(await listTree(downloads.outside), outsideBefore);
}

Deno.test("hostile sharer: symbolic links in the client's folder are refused", async (t) => {
  await t.step(
    "a file below a symlinked folder",
    () => refused([fileEntry("link/x.txt", 5)], /"link" is a symbolic link/),
  );
  await t.step(
    "folders through a symlinked folder",
    () =>
      refused([folderEntry("link"), folderEntry("link/sub")], /symbolic link/),
  );
  await t.step("a symlink under the final name", async () => {
    let target = "";
    await refused(
      [fileEntry("y.txt", 4), fileEntry("z.txt", 4)],
      /a symbolic link is in its place on the client$/,
      async (downloads) => {
        target = join(downloads.outside, "target");
        await Deno.writeTextFile(target, "original");
        await Deno.symlink(target, join(downloads.dir, "y.txt"));
        await Deno.symlink(
          join(downloads.outside, "absent"),
          join(downloads.dir, "z.txt"),
        );
      },
    );
  });
  await t.step("sending a refused file anyway ends the session", async () => {
    const evil = encoder.encode("evil");
    const result = await getFrom(async (s) => {
      await s.manifest([fileEntry("link/x.txt", 4)]);
      const decisions = await s.expect("decisions");
      assert.equal(decisions.items[0].action, "refuse");
      await s.send({ type: "file", index: 0, offset: 0 });
      await s.data(evil);
      await s.send({ type: "end", index: 0, sha256: sha256(evil) });
      await s.readToEnd();
    }, async (dir) => {
      await Deno.symlink(join(dir, "..", "outside"), join(dir, "link"));
    });
    assert.equal(result.client.code, 1);
    assert.match(
      result.client.stderr,
      /^failed {2}link\/x\.txt: refused: "link" is a symbolic link.*\nclient: Server sent a file for entry 0, which is not an expected file\n$/,
    );
    assert.deepEqual(result.outside, []);
    assert.deepEqual(result.added, []);
    assert.deepEqual(result.staged, []);
  });
});
