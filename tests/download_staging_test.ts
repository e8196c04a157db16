/**
 * What the staging folder and the proofs promise, on a client that gets
 * files, as `staging_test.ts` checks them on a server that receives: every
 * path has data of its own, kept data is resumed from only once the
 * sharer proved the same prefix, the client discloses no hash or size of
 * what it holds, modes follow the client's umask, and a folder other users
 * can write to is pointed out at start.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileEntry } from "./hostile_client.ts";
import { Downloads, type GetResult } from "./hostile_download_harness.ts";
import {
  HostileSharer,
  sendWhole,
  type SharerSession,
} from "./hostile_sharer.ts";
import {
  finish,
  ROOT,
  runClient,
  stagedFiles,
  startServer,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";
import type { ReceiverMessage } from "../protocol.ts";

function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function bytes(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

/**
 * A 250-byte name and the 247-byte name that the old layout gave the same
 * staging file: its first 230 bytes, a dot, and 16 hex of its hash.
 */
function collidingNames(): [string, string] {
  const long = "L".repeat(250);
  return [long, `${long.slice(0, 230)}.${sha256(long).slice(0, 16)}`];
}

/** One run of the client into `downloads` against a sharer playing `script`. */
async function getOnce(
  downloads: Downloads,
  script: (s: SharerSession) => Promise<void>,
): Promise<GetResult> {
  await using sharer = new HostileSharer(script);
  return await downloads.get(sharer.port);
}

/** A proofs message of one item. */
function proof(index: number, data: Uint8Array | string) {
  return {
    type: "proofs",
    items: [{ index, sha256: sha256(data) }],
    more: false,
  };
}

Deno.test("two names the old layout staged together each keep their own bytes", async () => {
  await using downloads = await Downloads.make();
  const [long, short] = collidingNames();
  const a = bytes(1000, 0x61);
  const b = bytes(1000, 0x62);
  let messages: ReceiverMessage[] = [];
  const result = await getOnce(downloads, async (s) => {
    await s.manifest([fileEntry(long, a.length), fileEntry(short, b.length)]);
    assert.deepEqual((await s.expect("decisions")).items, [
      { action: "send", offset: 0 },
      { action: "send", offset: 0 },
    ]);
    await sendWhole(s, 0, a);
    await sendWhole(s, 1, b);
    await s.send({ type: "done" });
    messages = await s.readToEnd();
  });
  assert.equal(result.client.code, 0, result.client.stderr);
  assert.deepEqual(messages, [
    { type: "verified", index: 0, sha256: sha256(a) },
    { type: "verified", index: 1, sha256: sha256(b) },
    { type: "summary", verified: 2, failed: 0 },
  ]);
  assert.deepEqual(await Deno.readFile(join(downloads.dir, long)), a);
  assert.deepEqual(await Deno.readFile(join(downloads.dir, short)), b);
});

Deno.test("kept data is offered only for its own path, and used only once proven", async () => {
  await using downloads = await Downloads.make();
  const [long, short] = collidingNames();
  const data = bytes(100, 0x6b);
  // A download cut off half-way through `long` leaves its data kept.
  const cut = await getOnce(downloads, async (s) => {
    await s.manifest([fileEntry(long, 100)]);
    await s.expect("decisions");
    await s.send({ type: "file", index: 0, offset: 0 });
    await s.data(data.subarray(0, 50));
  });
  assert.match(cut.client.stderr, /kept 50 B of 100 B/);
  // Another path that the old layout mapped to the same name: nothing.
  await getOnce(downloads, async (s) => {
    await s.manifest([fileEntry(short, 100)]);
    assert.deepEqual((await s.expect("decisions")).items, [
      { action: "send", offset: 0 },
    ]);
  });
  // Its own path: the offset, and no hash of what the client holds. A
  // wrong proof is told "no", and the kept data cannot be used.
  const wrong = await getOnce(downloads, async (s) => {
    await s.manifest([fileEntry(long, 100)]);
    assert.deepEqual((await s.expect("decisions")).items, [
      { action: "send", offset: 50 },
    ]);
    await s.send(proof(0, bytes(50, 0x78)));
    assert.deepEqual(await s.receive(), {
      type: "matches",
      items: [{ index: 0, match: false }],
      more: false,
    });
    await s.send({ type: "file", index: 0, offset: 50 });
    await s.readToEnd();
  });
  assert.match(
    wrong.client.stderr,
    /^client: Server sent "L+…" from offset 50, the client offered only 0\n$/,
  );
  // With the right proof, the rest completes the file.
  let messages: ReceiverMessage[] = [];
  const right = await getOnce(downloads, async (s) => {
    await s.manifest([fileEntry(long, 100)]);
    assert.deepEqual((await s.expect("decisions")).items, [
      { action: "send", offset: 50 },
    ]);
    await s.send(proof(0, data.subarray(0, 50)));
    assert.deepEqual((await s.expect("matches")).items, [
      { index: 0, match: true },
    ]);
    await s.send({ type: "file", index: 0, offset: 50 });
    await s.data(data.subarray(50));
    await s.send({ type: "end", index: 0, sha256: sha256(data) });
    await s.send({ type: "done" });
    messages = await s.readToEnd();
  });
  assert.equal(right.client.code, 0, right.client.stderr);
  assert.match(right.client.stdout, /resuming {2}L+ {2}from 50 B/);
  assert.deepEqual(messages, [
    { type: "verified", index: 0, sha256: sha256(data) },
    { type: "summary", verified: 1, failed: 0 },
  ]);
  assert.deepEqual(await Deno.readFile(join(downloads.dir, long)), data);
  assert.deepEqual(await stagedFiles(downloads.dir), []);
});

Deno.test("the client tells neither the hash nor the size of a file it has", async () => {
  await using downloads = await Downloads.make();
  const secret = "the client's own content\n";
  await Deno.writeTextFile(join(downloads.dir, "known.txt"), secret);
  for (const size of [secret.length, secret.length + 7]) {
    let summary: unknown;
    const result = await getOnce(downloads, async (s) => {
      await s.manifest([fileEntry("known.txt", size)]);
      // The same answer whatever the size, and nothing about the content.
      assert.deepEqual((await s.expect("decisions")).items, [
        { action: "compare", replace: false },
      ]);
      await s.send(proof(0, "a guess\n"));
      assert.deepEqual((await s.expect("matches")).items, [
        { index: 0, match: false },
      ]);
      await s.send({ type: "done" });
      summary = (await s.readToEnd()).at(-1);
    });
    assert.deepEqual(summary, { type: "summary", verified: 0, failed: 1 });
    assert.match(result.client.stderr, /^failed {2}known\.txt: /);
  }
  // Only the very content gets a yes, as a rerun needs.
  const same = await getOnce(downloads, async (s) => {
    await s.manifest([fileEntry("known.txt", secret.length)]);
    await s.expect("decisions");
    await s.send(proof(0, secret));
    assert.deepEqual((await s.expect("matches")).items, [
      { index: 0, match: true },
    ]);
    await s.send({ type: "done" });
    await s.readToEnd();
  });
  assert.equal(same.client.code, 0, same.client.stderr);
  assert.match(same.client.stdout, /already there {2}known\.txt/);
  assert.equal(
    await Deno.readTextFile(join(downloads.dir, "known.txt")),
    secret,
  );
});

Deno.test("a file swapped for a FIFO before its proof is not the same, and freezes nothing", async () => {
  await using downloads = await Downloads.make();
  const pipe = join(downloads.dir, "pipe.txt");
  await Deno.writeTextFile(pipe, "was a file\n");
  let answer: unknown = "none";
  const result = await getOnce(downloads, async (s) => {
    await s.manifest([fileEntry("pipe.txt", 11)]);
    assert.deepEqual((await s.expect("decisions")).items, [
      { action: "compare", replace: false },
    ]);
    await Deno.remove(pipe);
    const made = await new Deno.Command("mkfifo", { args: [pipe] }).output();
    assert.ok(made.success);
    await s.send(proof(0, "was a file\n"));
    // A client frozen on the FIFO would never answer: fail instead of hang.
    let timer: ReturnType<typeof setTimeout> | undefined;
    answer = await Promise.race([
      s.receive(),
      new Promise<null>((resolve) => timer = setTimeout(resolve, 20_000, null)),
    ]);
    clearTimeout(timer);
    await s.send({ type: "done" });
    await s.readToEnd();
  });
  assert.deepEqual(answer, {
    type: "matches",
    items: [{ index: 0, match: false }],
    more: false,
  });
  assert.equal(result.client.code, 1, result.client.stderr);
  assert.match(result.client.stderr, /^failed {2}pipe\.txt: /);
  assert.ok((await Deno.lstat(pipe)).isFifo, "the FIFO is left alone");
});

Deno.test("kept data gone before its proof fails that proof alone", async () => {
  await using downloads = await Downloads.make();
  const data = bytes(100, 0x6d);
  await getOnce(downloads, async (s) => {
    await s.manifest([fileEntry("gone.bin", 100)]);
    await s.expect("decisions");
    await s.send({ type: "file", index: 0, offset: 0 });
    await s.data(data.subarray(0, 40));
  });
  assert.equal((await stagedFiles(downloads.dir)).length, 2);
  let summary: unknown;
  const result = await getOnce(downloads, async (s) => {
    await s.manifest([fileEntry("gone.bin", 100)]);
    assert.deepEqual((await s.expect("decisions")).items, [
      { action: "send", offset: 40 },
    ]);
    for (const name of await stagedFiles(downloads.dir)) {
      await Deno.remove(join(downloads.dir, ".ft-staging", name));
    }
    await s.send(proof(0, data.subarray(0, 40)));
    assert.deepEqual((await s.expect("matches")).items, [
      { index: 0, match: false },
    ]);
    await sendWhole(s, 0, data);
    await s.send({ type: "done" });
    summary = (await s.readToEnd()).at(-1);
  });
  assert.equal(result.client.code, 0, result.client.stderr);
  assert.deepEqual(summary, { type: "summary", verified: 1, failed: 0 });
  assert.deepEqual(await Deno.readFile(join(downloads.dir, "gone.bin")), data);
});

Deno.test("modes the sharer asks for are narrowed by the client's umask", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const file = join(source.path, "open.txt");
  await Deno.writeTextFile(file, "anyone may write me\n");
  await Deno.chmod(file, 0o666);
  await using server = await startServer(["--share", file]);
  const client = await finish(
    new Deno.Command("sh", {
      args: [
        "-c",
        `umask 077 && exec "$0" run -A client.ts --get "$1" --dir "$2"`,
        Deno.execPath(),
        `127.0.0.1:${server.port}`,
        dest.path,
      ],
      cwd: ROOT,
      env: { FT_CODE: TEST_CODE },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
  assert.equal(client.code, 0, client.stderr);
  const info = await Deno.stat(join(dest.path, "open.txt"));
  assert.equal(info.mode! & 0o777, 0o600);
});

Deno.test("a --dir other users can write to is pointed out at start", async () => {
  await using source = await tempDir();
  await Deno.writeTextFile(join(source.path, "a.txt"), "a\n");
  await using server = await startServer([
    "--share",
    "--keep-sharing",
    join(source.path, "a.txt"),
  ]);
  await using open = await tempDir();
  await Deno.chmod(open.path, 0o777);
  const warned = await runClient([
    "--get",
    `127.0.0.1:${server.port}`,
    "--dir",
    open.path,
  ]);
  assert.equal(warned.code, 0, warned.stderr);
  assert.match(
    warned.stderr,
    /^warning: .* can be written by other users: /m,
  );
  await using own = await tempDir();
  const quiet = await runClient([
    "--get",
    `127.0.0.1:${server.port}`,
    "--dir",
    own.path,
  ]);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /other users/);
});
