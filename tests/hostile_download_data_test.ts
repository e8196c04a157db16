/**
 * A hostile sharing server against the data phase of `client.ts --get`,
 * as `hostile_data_test.ts` has a hostile client against the server's:
 * file data that does not match what the manifest announced, end, abort,
 * skip and done messages out of place, a file the client cannot save, a
 * sharer that hangs up in the middle of a file (the client retries and
 * resumes), and one that says `wait` forever.
 *
 * The checks every refused case gets are in `hostile_download_harness.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileEntry } from "./hostile_client.ts";
import { bytes, sha256 } from "./hostile_harness.ts";
import {
  assertRefused,
  Downloads,
  getFrom,
  type GetResult,
} from "./hostile_download_harness.ts";
import {
  HostileSharer,
  sendWhole,
  type SharerSession,
} from "./hostile_sharer.ts";
import { sleep } from "./helpers.ts";

/** Offers one file of `size`, and starts it once the client decided. */
async function start(s: SharerSession, name: string, size: number) {
  await s.manifest([fileEntry(name, size)]);
  const decisions = await s.expect("decisions");
  assert.deepEqual(decisions.items, [{ action: "send", offset: 0 }]);
  await s.send({ type: "file", index: 0, offset: 0 });
}

/** What the client kept of a refused session: one file's data, in staging. */
function assertKept(result: GetResult, kept: RegExp): void {
  assert.match(result.client.stderr, kept);
  assert.equal(result.staged.length, 2, "the data and its record");
  assert.ok(
    result.staged.every((name) => /^[0-9a-f]{64}\.(part|rec)$/.test(name)),
  );
}

Deno.test("hostile sharer: file data that does not match the manifest", async (t) => {
  await t.step("10 bytes, then 10 more for a file of 10", async () => {
    const result = await getFrom(async (s) => {
      await start(s, "more.bin", 10);
      await s.data(bytes(10));
      await s.data(bytes(10));
      await s.readToEnd();
    });
    assertRefused(
      result,
      /Server sent more bytes than announced for "more\.bin"/,
    );
  });
  await t.step("50 of 100 bytes, then an end message", async () => {
    const result = await getFrom(async (s) => {
      await start(s, "short.bin", 100);
      await s.data(bytes(50));
      await s.send({ type: "end", index: 0, sha256: sha256(bytes(50)) });
      await s.readToEnd();
    });
    assertRefused(
      result,
      /Server sent 50 bytes for "short\.bin", fewer than the 100 announced/,
    );
    assertKept(result, /; kept 50 B of 100 B of "short\.bin" for a resume/);
  });
  await t.step(
    "a wrong hash names the sharer as the one who announced it",
    async () => {
      const result = await getFrom(async (s) => {
        await start(s, "badhash.bin", 10);
        await s.data(bytes(10));
        await s.send({
          type: "end",
          index: 0,
          sha256: sha256(bytes(10, 0x62)),
        });
        await s.readToEnd();
      });
      assertRefused(
        result,
        new RegExp(
          `Hash mismatch for "badhash\\.bin": received data hashes to ${
            sha256(bytes(10))
          }, server announced ${sha256(bytes(10, 0x62))}$`,
        ),
      );
      assert.deepEqual(
        result.staged,
        [],
        "data that failed its hash is dropped",
      );
    },
  );
  await t.step("an end message for a file not being sent", async () => {
    const result = await getFrom(async (s) => {
      await s.manifest([fileEntry("notsent.bin", 0)]);
      await s.expect("decisions");
      await s.send({ type: "end", index: 0, sha256: sha256(bytes(0)) });
      await s.readToEnd();
    });
    assertRefused(result, /Server ended entry 0, which is not being sent/);
  });
  await t.step("done while a file is unfinished", async () => {
    const result = await getFrom(async (s) => {
      await start(s, "unfinished.bin", 10);
      await s.data(bytes(5));
      await s.send({ type: "done" });
      await s.readToEnd();
    });
    assertRefused(
      result,
      /Server finished while "unfinished\.bin" was unfinished/,
    );
    assertKept(result, /; kept 5 B of 10 B of "unfinished\.bin"/);
  });
  await t.step("done without sending a file the client expects", async () => {
    const result = await getFrom(async (s) => {
      await s.manifest([fileEntry("never.bin", 3)]);
      await s.expect("decisions");
      await s.send({ type: "done" });
      await s.readToEnd();
    });
    assertRefused(result, /Server finished without sending 1 expected files/);
  });
  await t.step("an abort for a file not being sent", async () => {
    const result = await getFrom(async (s) => {
      await s.manifest([fileEntry("a.bin", 3)]);
      await s.expect("decisions");
      await s.send({ type: "abort", index: 0, message: "gone" });
      await s.readToEnd();
    });
    assertRefused(result, /Server aborted entry 0, which is not being sent/);
  });
});

Deno.test("hostile sharer: what the sharer gives up on fails alone, in its own words", async () => {
  const good = bytes(3, 0x67);
  let summary: unknown;
  const result = await getFrom(async (s) => {
    await s.manifest([
      fileEntry("moved.bin", 10),
      fileEntry("unreadable.bin", 4),
      fileEntry("good.bin", 3),
    ]);
    await s.expect("decisions");
    await s.send({ type: "file", index: 0, offset: 0 });
    await s.data(bytes(6));
    await s.send({
      type: "abort",
      index: 0,
      message: 'cannot send "moved.bin": it changed while being sent',
    });
    await s.send({ type: "skip", index: 1, reason: "unreadable" });
    await sendWhole(s, 2, good);
    await s.send({ type: "done" });
    summary = (await s.readToEnd()).at(-1);
  });
  const { client } = result;
  assert.equal(client.code, 1, client.stdout + client.stderr);
  assert.equal(
    client.stderr,
    'failed  moved.bin: server gave up: cannot send "moved.bin": it changed while being sent\n' +
      "failed  unreadable.bin: the server could not read it\n",
  );
  assert.match(client.stdout, /received {2}good\.bin/);
  assert.match(
    client.stdout,
    /1 of \d+ files received and verified, 0 already there, 2 failed/,
  );
  assert.deepEqual(summary, { type: "summary", verified: 1, failed: 2 });
  assert.deepEqual(result.added, ["good.bin"]);
  assert.deepEqual(result.staged, [], "nothing kept of a file given up on");
  assert.deepEqual(result.outside, []);
});

Deno.test("hostile sharer: a file the client cannot save fails alone", async () => {
  await using downloads = await Downloads.make();
  const data = bytes(3, 0x61);
  let messages: unknown[] = [];
  await using sharer = new HostileSharer(async (s) => {
    await s.manifest([fileEntry("blocked/x.txt", 3), fileEntry("fine.txt", 3)]);
    await s.expect("decisions");
    // The folder is free at decision time; a file takes its place before
    // the data arrives, so the client cannot create the file.
    await Deno.writeTextFile(join(downloads.dir, "blocked"), "in the way");
    await sendWhole(s, 0, data);
    await sendWhole(s, 1, data);
    await s.send({ type: "done" });
    messages = await s.readToEnd();
  });
  const result = await downloads.get(sharer.port);
  assert.equal(result.client.code, 1, result.client.stderr);
  assert.match(
    result.client.stderr,
    /^failed {2}blocked\/x\.txt: cannot save: Cannot create folder "blocked": "blocked" is not a folder on the client\n$/,
  );
  assert.equal(result.client.stderr.trim().split("\n").length, 1);
  assert.deepEqual(messages.map((m) => (m as { type: string }).type), [
    "failed",
    "verified",
    "summary",
  ]);
  assert.equal(await Deno.readTextFile(join(downloads.dir, "fine.txt")), "aaa");
  assert.deepEqual(result.added, ["blocked", "fine.txt"]);
});

Deno.test("hostile sharer: a sharer that hangs up in the middle of a file is retried, and the client resumes once the prefix is proven", async () => {
  await using downloads = await Downloads.make();
  const data = crypto.getRandomValues(new Uint8Array(100));
  const seen: unknown[] = [];
  await using sharer = new HostileSharer(async (s) => {
    await s.manifest([fileEntry("cut.bin", 100)]);
    const decisions = await s.expect("decisions");
    seen.push(decisions.items[0]);
    if (s.index === 0) {
      await s.send({ type: "file", index: 0, offset: 0 });
      await s.data(data.subarray(0, 60));
      // Closed cleanly, between two records.
      await sleep(100);
      return;
    }
    await s.send({
      type: "proofs",
      items: [{ index: 0, sha256: sha256(data.subarray(0, 60)) }],
      more: false,
    });
    seen.push(await s.expect("matches"));
    await s.send({ type: "file", index: 0, offset: 60 });
    await s.data(data.subarray(60));
    await s.send({ type: "end", index: 0, sha256: sha256(data) });
    await s.send({ type: "done" });
    await s.readToEnd();
  });
  const result = await downloads.get(sharer.port, ["--retries", "1"]);
  assert.equal(result.client.code, 0, result.client.stderr);
  assert.match(
    result.client.stderr,
    /^connection lost: Server left in the middle of a file; kept 60 B of 100 B of "cut\.bin" for a resume; retrying in/,
  );
  assert.match(result.client.stdout, /resuming {2}cut\.bin {2}from 60 B/);
  assert.deepEqual(seen, [
    { action: "send", offset: 0 },
    { action: "send", offset: 60 },
    { type: "matches", items: [{ index: 0, match: true }], more: false },
  ]);
  assert.deepEqual(await Deno.readFile(join(downloads.dir, "cut.bin")), data);
  assert.deepEqual(result.staged, []);
  assert.equal(sharer.connections, 2);
});

Deno.test("hostile sharer: a sharer that only says wait once data flows is given up on", async () => {
  const result = await getFrom(
    async (s) => {
      await start(s, "stuck.bin", 10);
      await s.data(bytes(4));
      // Until the client hangs up: a send then fails, and the script ends.
      for (;;) {
        await s.send({ type: "wait" });
        await sleep(200);
      }
    },
    undefined,
    ["--idle-timeout", "2"],
  );
  assertRefused(
    result,
    /^client: Server kept saying wait for \d+ s while the client waited for file data, .*it seems stuck/,
  );
  assertKept(result, /; kept 4 B of 10 B of "stuck\.bin"/);
});
