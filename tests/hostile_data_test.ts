/**
 * Hostile clients against the data phase: file data that does not match
 * what the manifest announced (too much, too little, a wrong hash), end and
 * done messages out of place; and a file that cannot be saved.
 *
 * The checks every case gets are in `hostile_harness.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, tempDir } from "./helpers.ts";
import { fileEntry, HostileClient } from "./hostile_client.ts";
import { bytes, encoder, Harness, offer, sha256 } from "./hostile_harness.ts";

Deno.test("hostile: file data that does not match the manifest", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);

  /** Offers one file of `size` and starts sending it. */
  async function start(c: HostileClient, name: string, size: number) {
    const decisions = await offer(c, [fileEntry(name, size)]);
    assert.deepEqual(decisions, {
      type: "decisions",
      start: 0,
      items: [{ action: "send", offset: 0 }],
      more: false,
    });
    await c.send({ type: "file", index: 0, offset: 0 });
  }

  await h.step(t, "a file that cannot be saved fails alone", async () => {
    // The folder is free at decision time; a file takes its place before
    // the data arrives, so the server cannot create the temporary file.
    const client = await h.connect();
    await client.handshake();
    const decisions = await offer(client, [
      fileEntry("blocked/x.txt", 3),
      fileEntry("fine.txt", 3),
    ]);
    assert.equal(decisions.type, "decisions");
    await Deno.writeTextFile(join(h.dest, "blocked"), "in the way");
    const data = encoder.encode("abc");
    for (const index of [0, 1]) {
      await client.send({ type: "file", index, offset: 0 });
      await client.data(data);
      await client.send({ type: "end", index, sha256: sha256(data) });
    }
    await client.send({ type: "done" });
    const { messages } = await client.readToEnd();
    assert.equal(messages.length, 3, JSON.stringify(messages));
    assert.equal(messages[0].type, "failed");
    assert.match(
      messages[0].type === "failed" ? messages[0].message : "",
      /^cannot save: Cannot create folder "blocked": "blocked" is not a folder on the server$/,
    );
    assert.deepEqual(messages.slice(1), [
      { type: "verified", index: 1, sha256: sha256(data) },
      { type: "summary", verified: 1, failed: 1 },
    ]);
    assert.equal(await Deno.readTextFile(join(h.dest, "fine.txt")), "abc");
    await Deno.remove(join(h.dest, "blocked"));
    await Deno.remove(join(h.dest, "fine.txt"));
    await h.assertClean();
  });
  await h.step(t, "20 bytes in one frame for a file of 10", () =>
    h.rejects({
      phrase: 'Client sent more bytes than announced for "more.bin"',
      absent: ["more.bin"],
      act: async (c) => {
        await start(c, "more.bin", 10);
        await c.data(bytes(20));
      },
    }));
  await h.step(t, "10 bytes, then 10 more for a file of 10", () =>
    h.rejects({
      phrase: 'Client sent more bytes than announced for "more2.bin"',
      absent: ["more2.bin"],
      act: async (c) => {
        await start(c, "more2.bin", 10);
        await c.data(bytes(10));
        await h.waitForPartial("more2.bin", 10);
        await c.data(bytes(10));
      },
    }));
  await h.step(t, "50 of 100 bytes, then the client hangs up", () =>
    h.rejects({
      phrase:
        'Client left in the middle of a file; kept 50 B of 100 B of "short.bin" for a resume',
      reply: "none",
      absent: ["short.bin"],
      act: async (c) => {
        await start(c, "short.bin", 100);
        await c.data(bytes(50));
        await h.waitForPartial("short.bin", 50);
        c.close();
      },
    }));
  await h.step(t, "50 of 100 bytes, then an end message", () =>
    h.rejects({
      phrase: 'Client sent 50 bytes for "short2.bin", fewer than the 100',
      absent: ["short2.bin"],
      act: async (c) => {
        await start(c, "short2.bin", 100);
        await c.data(bytes(50));
        await h.waitForPartial("short2.bin", 50);
        await c.send({ type: "end", index: 0, sha256: sha256(bytes(50)) });
      },
    }));
  await h.step(t, "a wrong hash in the end message", () =>
    h.rejects({
      phrase: new RegExp(
        `Hash mismatch for "badhash.bin": received data hashes to ${
          sha256(bytes(10))
        }, client announced ${sha256(bytes(10, 0x62))}`,
      ),
      absent: ["badhash.bin"],
      act: async (c) => {
        await start(c, "badhash.bin", 10);
        await c.data(bytes(10));
        await h.waitForPartial("badhash.bin", 10);
        await c.send({
          type: "end",
          index: 0,
          sha256: sha256(bytes(10, 0x62)),
        });
      },
    }));
  await h.step(t, "an end message for a file not being sent", () =>
    h.rejects({
      phrase: "Client ended entry 0, which is not being sent",
      absent: ["notsent.bin"],
      act: async (c) => {
        await offer(c, [fileEntry("notsent.bin", 0)]);
        await c.send({ type: "end", index: 0, sha256: sha256(bytes(0)) });
      },
    }));
  await h.step(t, "done while a file is unfinished", () =>
    h.rejects({
      phrase: 'Client finished while "unfinished.bin" was unfinished',
      absent: ["unfinished.bin"],
      act: async (c) => {
        await start(c, "unfinished.bin", 10);
        await c.data(bytes(5));
        await h.waitForPartial("unfinished.bin", 5);
        await c.send({ type: "done" });
      },
    }));
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-data.txt"),
  );
});
