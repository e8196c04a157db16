/**
 * What the staging folder and the proofs promise, against a real server:
 * every path has data of its own (no two names share a staging file, and
 * no session is offered another path's kept data), the server discloses
 * no hash or size of what it holds, modes follow the server's umask, and
 * a destination other users can write to is pointed out at start.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileEntry, HostileClient } from "./hostile_client.ts";
import {
  ROOT,
  runClient,
  ServerProcess,
  stagedFiles,
  startServer,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";
import type { Entry } from "../protocol.ts";

function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function bytes(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

/** A session that offers `entries` and returns the raw decisions. */
async function offer(
  port: number,
  entries: Entry[],
): Promise<{ client: HostileClient; items: Record<string, unknown>[] }> {
  const client = await HostileClient.connect(port);
  await client.handshake();
  await client.send({ type: "manifest", entries, more: false });
  for (;;) {
    const message = await client.receiveRaw();
    if (message?.type === "wait") continue;
    assert.equal(message?.type, "decisions", JSON.stringify(message));
    return { client, items: message!.items as Record<string, unknown>[] };
  }
}

/** Sends the whole of `data` as entry `index` and ends it. */
async function sendWhole(
  client: HostileClient,
  index: number,
  data: Uint8Array,
): Promise<void> {
  await client.send({ type: "file", index, offset: 0 });
  await client.data(data);
  await client.send({ type: "end", index, sha256: sha256(data) });
}

/**
 * A 250-byte name and the 247-byte name that the old layout gave the same
 * temporary file: its first 230 bytes, a dot, and 16 hex of its hash.
 */
function collidingNames(): [string, string] {
  const long = "L".repeat(250);
  return [long, `${long.slice(0, 230)}.${sha256(long).slice(0, 16)}`];
}

Deno.test("two names the old layout staged together each keep their own bytes", async () => {
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path]);
  const [long, short] = collidingNames();
  const a = bytes(1000, 0x61);
  const b = bytes(1000, 0x62);
  const { client, items } = await offer(server.port, [
    fileEntry(long, a.length),
    fileEntry(short, b.length),
  ]);
  using _ = client;
  assert.deepEqual(items, [
    { action: "send", offset: 0 },
    { action: "send", offset: 0 },
  ]);
  await sendWhole(client, 0, a);
  await sendWhole(client, 1, b);
  await client.send({ type: "done" });
  const { messages } = await client.readToEnd();
  assert.deepEqual(messages, [
    { type: "verified", index: 0, sha256: sha256(a) },
    { type: "verified", index: 1, sha256: sha256(b) },
    { type: "summary", verified: 2, failed: 0 },
  ]);
  assert.deepEqual(await Deno.readFile(join(dest.path, long)), a);
  assert.deepEqual(await Deno.readFile(join(dest.path, short)), b);
});

Deno.test("kept data is offered only for its own path, and used only once proven", async () => {
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path]);
  const [long, short] = collidingNames();
  const data = bytes(100, 0x6b);
  // A session cut off half-way through `long` leaves its data kept.
  {
    const { client } = await offer(server.port, [fileEntry(long, 100)]);
    await client.send({ type: "file", index: 0, offset: 0 });
    await client.data(data.subarray(0, 50));
    client.close();
    await server.waitFor(/kept 50 B of 100 B/);
  }
  // Another path that the old layout mapped to the same name: nothing.
  {
    const { client, items } = await offer(server.port, [fileEntry(short, 100)]);
    using _ = client;
    assert.deepEqual(items, [{ action: "send", offset: 0 }]);
  }
  // Its own path: the offset, and no hash of what the server holds.
  {
    const { client, items } = await offer(server.port, [fileEntry(long, 100)]);
    using _ = client;
    assert.deepEqual(items, [{ action: "send", offset: 50 }]);
    // A wrong proof is told "no", and the kept data cannot be used.
    await client.send({
      type: "proofs",
      items: [{ index: 0, sha256: sha256(bytes(50, 0x78)) }],
      more: false,
    });
    assert.deepEqual(await client.receiveRaw(), {
      type: "matches",
      items: [{ index: 0, match: false }],
      more: false,
    });
    await client.send({ type: "file", index: 0, offset: 50 });
    const { messages } = await client.readToEnd();
    assert.match(
      JSON.stringify(messages),
      /from offset 50, the server offered only 0/,
    );
  }
  // With the right proof, the rest completes the file.
  {
    const { client, items } = await offer(server.port, [fileEntry(long, 100)]);
    using _ = client;
    assert.deepEqual(items, [{ action: "send", offset: 50 }]);
    await client.send({
      type: "proofs",
      items: [{ index: 0, sha256: sha256(data.subarray(0, 50)) }],
      more: false,
    });
    assert.deepEqual(await client.receiveRaw(), {
      type: "matches",
      items: [{ index: 0, match: true }],
      more: false,
    });
    await client.send({ type: "file", index: 0, offset: 50 });
    await client.data(data.subarray(50));
    await client.send({ type: "end", index: 0, sha256: sha256(data) });
    await client.send({ type: "done" });
    const { messages } = await client.readToEnd();
    assert.deepEqual(messages, [
      { type: "verified", index: 0, sha256: sha256(data) },
      { type: "summary", verified: 1, failed: 0 },
    ]);
  }
  assert.deepEqual(await Deno.readFile(join(dest.path, long)), data);
  assert.deepEqual(await stagedFiles(dest.path), []);
});

Deno.test("the server tells neither the hash nor the size of a file it has", async () => {
  await using dest = await tempDir();
  const secret = "the server's own content\n";
  await Deno.writeTextFile(join(dest.path, "known.txt"), secret);
  await using server = await startServer(["--dir", dest.path]);
  for (const size of [secret.length, secret.length + 7]) {
    const { client, items } = await offer(server.port, [
      fileEntry("known.txt", size),
    ]);
    using _ = client;
    // The same answer whatever the size, and nothing about the content.
    assert.deepEqual(items, [{ action: "compare", replace: false }]);
    await client.send({
      type: "proofs",
      items: [{ index: 0, sha256: sha256("a guess\n") }],
      more: false,
    });
    assert.deepEqual(await client.receiveRaw(), {
      type: "matches",
      items: [{ index: 0, match: false }],
      more: false,
    });
    await client.send({ type: "done" });
    const { messages } = await client.readToEnd();
    assert.deepEqual(messages, [{ type: "summary", verified: 0, failed: 1 }]);
  }
  // Only the very content gets a yes, as a rerun needs.
  const { client } = await offer(server.port, [
    fileEntry("known.txt", secret.length),
  ]);
  using _ = client;
  await client.send({
    type: "proofs",
    items: [{ index: 0, sha256: sha256(secret) }],
    more: false,
  });
  assert.deepEqual((await client.receiveRaw())?.items, [
    { index: 0, match: true },
  ]);
  assert.equal(await Deno.readTextFile(join(dest.path, "known.txt")), secret);
});

Deno.test("modes asked for are narrowed by the server's umask", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const file = join(source.path, "open.txt");
  await Deno.writeTextFile(file, "anyone may write me\n");
  await Deno.chmod(file, 0o666);
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      `umask 077 && exec "$0" run -A server.ts --host 127.0.0.1 --port 0 --once --dir "$1"`,
      Deno.execPath(),
      dest.path,
    ],
    cwd: ROOT,
    env: { FT_CODE: TEST_CODE },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await using server = new ServerProcess(child);
  await server.listening();
  const client = await runClient([`127.0.0.1:${server.port}`, file]);
  assert.equal(client.code, 0, client.stderr);
  assert.equal((await server.exited()).code, 0);
  const info = await Deno.stat(join(dest.path, "open.txt"));
  assert.equal(info.mode! & 0o777, 0o600);
});

Deno.test("a destination other users can write to is pointed out at start", async () => {
  await using dest = await tempDir();
  await Deno.chmod(dest.path, 0o777);
  await using server = await startServer(["--dir", dest.path]);
  await server.waitFor(/warning: .* can be written by other users: /);
  await using own = await tempDir();
  await using quiet = await startServer(["--dir", own.path]);
  const client = await runClient([`127.0.0.1:${quiet.port}`, "main.txt"]);
  assert.equal(client.code, 0, client.stderr);
  assert.doesNotMatch(quiet.stderr, /other users/);
});

Deno.test("a file swapped for a FIFO before its proof is not the same, and freezes nothing", async () => {
  await using dest = await tempDir();
  await Deno.writeTextFile(join(dest.path, "pipe.txt"), "was a file\n");
  await using server = await startServer(["--dir", dest.path]);
  const { client, items } = await offer(server.port, [
    fileEntry("pipe.txt", 11),
  ]);
  using _ = client;
  assert.deepEqual(items, [{ action: "compare", replace: false }]);
  await Deno.remove(join(dest.path, "pipe.txt"));
  const made = await new Deno.Command("mkfifo", {
    args: [join(dest.path, "pipe.txt")],
  }).output();
  assert.ok(made.success);
  await client.send({
    type: "proofs",
    items: [{ index: 0, sha256: sha256("was a file\n") }],
    more: false,
  });
  // A server frozen on the FIFO would never answer: fail instead of hang.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const answer = await Promise.race([
    client.receiveRaw(),
    new Promise<null>((resolve) => timer = setTimeout(resolve, 20_000, null)),
  ]);
  clearTimeout(timer);
  assert.deepEqual(answer?.items, [{ index: 0, match: false }]);
  const other = await runClient([`127.0.0.1:${server.port}`, "main.txt"]);
  assert.equal(other.code, 0, other.stderr);
});

Deno.test("kept data gone before its proof fails that proof alone", async () => {
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path]);
  const data = bytes(100, 0x6d);
  {
    const { client } = await offer(server.port, [fileEntry("gone.bin", 100)]);
    await client.send({ type: "file", index: 0, offset: 0 });
    await client.data(data.subarray(0, 40));
    client.close();
    await server.waitFor(/kept 40 B of 100 B/);
  }
  const { client, items } = await offer(server.port, [
    fileEntry("gone.bin", 100),
  ]);
  using _ = client;
  assert.deepEqual(items, [{ action: "send", offset: 40 }]);
  for (const name of await stagedFiles(dest.path)) {
    await Deno.remove(join(dest.path, ".ft-staging", name));
  }
  await client.send({
    type: "proofs",
    items: [{ index: 0, sha256: sha256(data.subarray(0, 40)) }],
    more: false,
  });
  assert.deepEqual((await client.receiveRaw())?.items, [
    { index: 0, match: false },
  ]);
  await sendWhole(client, 0, data);
  await client.send({ type: "done" });
  const { messages } = await client.readToEnd();
  assert.deepEqual(messages.at(-1), {
    type: "summary",
    verified: 1,
    failed: 0,
  });
  assert.deepEqual(await Deno.readFile(join(dest.path, "gone.bin")), data);
});
