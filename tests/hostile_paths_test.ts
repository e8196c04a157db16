/**
 * Hostile clients against the paths of a manifest: paths the protocol
 * refuses (and the longest legal ones, which are saved), and symbolic
 * links in the destination that entries would write through.
 *
 * The checks every case gets are in `hostile_harness.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { listTree, startServer, tempDir } from "./helpers.ts";
import { fileEntry, folderEntry } from "./hostile_client.ts";
import { type Entry, quote } from "../protocol.ts";
import { encoder, Harness, offer, sha256 } from "./hostile_harness.ts";

Deno.test("hostile: invalid manifest paths are refused", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);

  const longAscii = ("p".repeat(200) + "/").repeat(25) + "end"; // 5028 chars
  const longBytes = ("é".repeat(100) + "/").repeat(21) + "end"; // 4224 bytes
  assert.ok(
    longBytes.length <= 4096 && encoder.encode(longBytes).length > 4096,
  );
  // [step name, path, why]: the server must answer `Invalid path P: why`.
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
  ];
  const badPath = (path: string, phrase: string | RegExp) => () =>
    h.rejects({
      phrase,
      absent: ["pre", "ok.txt"],
      // Valid entries come first: nothing of them may be created either.
      act: (c) =>
        c.sendJson({
          type: "manifest",
          entries: [
            folderEntry("pre"),
            fileEntry("ok.txt", 1),
            fileEntry(path, 1),
          ],
          more: false,
        }),
    });
  for (const [name, path, why] of cases) {
    await h.step(
      t,
      `path: ${name}`,
      badPath(path, `Invalid path ${quote(path)}: ${why}`),
    );
  }
  // No UTF-8 form: on disk it would become U+FFFD, so "x\ud800" and
  // "x\udbff" would name the same file and dodge the duplicate check. (The
  // log shows the lone surrogate as U+FFFD, hence the "." in the pattern.)
  await h.step(
    t,
    "path: lone surrogate",
    badPath("x\ud800", /Invalid path "x.": is not valid Unicode/),
  );
  await h.step(
    t,
    "path: longer than 4096 characters",
    badPath(longAscii, "Field path in manifest entry 2 is too long"),
  );
  await h.step(t, "path: escapes are shown escaped", () =>
    h.rejects({
      phrase: String.raw`Invalid path "\u001b[31mred": contains`,
      act: (c) =>
        c.sendJson({
          type: "manifest",
          entries: [fileEntry("\u001b[31mred", 1)],
          more: false,
        }),
    }));
  await h.step(t, "the long path error names the field", async () => {
    const mark = server.stderr.length;
    const client = await h.connect();
    await client.handshake();
    await client.sendJson({
      type: "manifest",
      entries: [fileEntry(longAscii, 1)],
      more: false,
    });
    const { messages } = await client.readToEnd();
    assert.deepEqual(messages, [{
      type: "error",
      message: "Field path in manifest entry 0 is too long",
    }]);
    await h.logFor(mark, client.port);
    await h.probe();
  });
  await h.step(t, "the longest legal names are saved", async () => {
    // 255, 254 and 252 UTF-8 bytes: legal, so they must be received, and
    // their temporary names must be legal too.
    const names = ["x".repeat(255), "é".repeat(127), "😀".repeat(63)];
    const mark = server.stderr.length;
    const client = await h.connect();
    await client.handshake();
    const decisions = await offer(client, names.map((n) => fileEntry(n, 4)));
    assert.deepEqual(
      decisions.type === "decisions" && decisions.items,
      names.map(() => ({ action: "send", offset: 0 })),
    );
    for (const [index, name] of names.entries()) {
      const data = encoder.encode(`f${index}!!`);
      await client.send({ type: "file", index, offset: 0 });
      await client.data(data);
      await client.send({ type: "end", index, sha256: sha256(data) });
      assert.deepEqual(await client.receive(), {
        type: "verified",
        index,
        sha256: sha256(data),
      });
      assert.deepEqual(await Deno.readFile(join(h.dest, name)), data);
    }
    await client.send({ type: "done" });
    assert.deepEqual(await client.readToEnd(), {
      messages: [{ type: "summary", verified: 3, failed: 0 }],
      reset: false,
    });
    assert.deepEqual(h.linesSince(mark), []);
    await h.assertClean();
  });
  await h.step(
    t,
    "a legal path longer than PATH_MAX below the destination",
    async () => {
      // 4070 bytes is legal, but below the destination it exceeds PATH_MAX:
      // the server reaches each folder from the one before by descriptor,
      // so the file is still saved, and still nowhere else.
      const long = ("d".repeat(200) + "/").repeat(20) + "x".repeat(70);
      const client = await h.connect();
      await client.handshake();
      const decisions = await offer(client, [fileEntry(long, 1)]);
      assert.deepEqual(
        decisions.type === "decisions" && decisions.items,
        [{ action: "send", offset: 0 }],
      );
      await client.send({ type: "file", index: 0, offset: 0 });
      await client.data(encoder.encode("z"));
      await client.send({
        type: "end",
        index: 0,
        sha256: sha256(encoder.encode("z")),
      });
      await client.send({ type: "done" });
      assert.deepEqual(await client.readToEnd(), {
        messages: [
          { type: "verified", index: 0, sha256: sha256(encoder.encode("z")) },
          { type: "summary", verified: 1, failed: 0 },
        ],
        reset: false,
      });
      // Read back one folder at a time, as no single path reaches it.
      const read = await new Deno.Command("sh", {
        args: [
          "-c",
          `cd "$1" && for i in $(seq 20); do cd ${
            "d".repeat(200)
          } || exit 1; done && cat ${"x".repeat(70)}`,
          "sh",
          h.dest,
        ],
      }).output();
      assert.equal(new TextDecoder().decode(read.stdout), "z");
      await Deno.remove(join(h.dest, "d".repeat(200)), { recursive: true });
      await h.assertClean();
    },
  );
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-paths.txt"),
  );
});

Deno.test("hostile: symbolic links in the destination are refused", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  // dest/link -> outside, made before the server starts.
  await Deno.symlink(join(tmp.path, "outside"), join(tmp.path, "dest", "link"));
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);
  const target = join(h.outside, "target");

  /** Offers `entries`, expects refusals, then finishes the session. */
  async function refused(
    entries: Entry[],
    reason: RegExp,
  ): Promise<void> {
    const before = await listTree(tmp.path);
    const mark = server.stderr.length;
    const client = await h.connect();
    await client.handshake();
    const decisions = await offer(client, entries);
    assert.equal(decisions.type, "decisions");
    if (decisions.type !== "decisions") return;
    assert.equal(decisions.items.length, entries.length);
    for (const decision of decisions.items) {
      assert.equal(decision.action, "refuse");
      if (decision.action === "refuse") assert.match(decision.reason, reason);
    }
    await client.send({ type: "done" });
    // Refused folders count as failed too, as the client counts them.
    assert.deepEqual(await client.readToEnd(), {
      messages: [{ type: "summary", verified: 0, failed: entries.length }],
      reset: false,
    });
    client.close();
    const lines = await h.logFor(mark, client.port, entries.length);
    assert.equal(lines.length, entries.length, JSON.stringify(lines));
    for (const [i, line] of lines.entries()) {
      assert.ok(line.includes(`failed ${entries[i].path}: refused:`), line);
      assert.match(line, reason);
    }
    assert.deepEqual(await listTree(tmp.path), before);
    await h.assertClean();
    await h.probe();
  }

  await h.step(
    t,
    "a file below a symlinked folder",
    () => refused([fileEntry("link/x.txt", 5)], /"link" is a symbolic link/),
  );
  await h.step(t, "folders through a symlinked folder", () =>
    refused(
      [folderEntry("link"), folderEntry("link/sub")],
      /symbolic link/,
    ));
  await h.step(t, "a symlink under the final name", async () => {
    await Deno.writeTextFile(target, "original");
    h.outsideHolds = ["target"];
    const mtime = (await Deno.stat(target)).mtime;
    await Deno.symlink(target, join(h.dest, "y.txt"));
    await Deno.symlink(join(h.outside, "absent"), join(h.dest, "z.txt"));
    await refused(
      [fileEntry("y.txt", 4), fileEntry("z.txt", 4)],
      /a symbolic link is in its place/,
    );
    assert.equal(await Deno.readTextFile(target), "original");
    assert.deepEqual((await Deno.stat(target)).mtime, mtime);
    assert.equal(await Deno.readLink(join(h.dest, "y.txt")), target);
  });
  await h.step(t, "sending a refused file anyway is an error", () =>
    h.rejects({
      phrase: "which is not an expected file",
      logBefore: [/failed link\/x\.txt: refused: "link" is a symbolic link/],
      act: async (c) => {
        const decisions = await offer(c, [fileEntry("link/x.txt", 4)]);
        assert.equal(
          decisions.type === "decisions" && decisions.items[0].action,
          "refuse",
        );
        // In one write: the server stops reading at the file message.
        await c.queue({ type: "file", index: 0, offset: 0 });
        await c.queueData(encoder.encode("evil"));
        await c.queue({
          type: "end",
          index: 0,
          sha256: sha256(encoder.encode("evil")),
        });
        await c.flush();
      },
    }));
  await h.step(t, "outside is still only the untouched target", async () => {
    assert.deepEqual(await listTree(h.outside), ["target"]);
    assert.equal(await Deno.readTextFile(target), "original");
  });
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-links.txt"),
  );
});
