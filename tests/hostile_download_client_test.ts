/**
 * A hostile client against a sharing server (`server.ts --share`): in the
 * download direction the server sends, and a client with the code may
 * answer its manifest with whatever it likes. For each case the server
 * logs one line about that connection and closes it, keeps sharing (a
 * session that went wrong is no complete download, which would end it),
 * and a real `client.ts --get` still gets the files.
 *
 * A sharing server closes a connection it finds broken without telling
 * the client why: an honest client never gets there.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { helloBytes, HostileClient } from "./hostile_client.ts";
import { sha256 } from "./hostile_harness.ts";
import {
  runClient,
  type ServerProcess,
  sleep,
  startServer,
  tempDir,
} from "./helpers.ts";
import { FrameType, HELLO_FLAG_SERVER_SENDS } from "../protocol.ts";

const A = new TextEncoder().encode("abc");
const B = new TextEncoder().encode("b");

/** The hello and key exchange of a client that gets files. */
async function getterHandshake(port: number): Promise<HostileClient> {
  const client = await HostileClient.connect(port);
  await client.raw(helloBytes({ flags: HELLO_FLAG_SERVER_SENDS }));
  assert.ok(await client.readHello());
  await client.confirm(await client.exchangeShares());
  await client.flush();
  assert.equal((await client.receiveRaw())?.type, "manifest");
  return client;
}

/** Reads the sharer's frames until its `done`; false when it closed first. */
async function untilDone(client: HostileClient): Promise<boolean> {
  for (;;) {
    const frame = await client.receiveFrame();
    if (frame === null) return false;
    if (frame.type !== FrameType.Control) continue;
    const message = JSON.parse(new TextDecoder().decode(frame.payload));
    if (message.type === "done") return true;
  }
}

/** Reads until the sharer closes; never throws. */
async function drain(client: HostileClient): Promise<void> {
  try {
    while (await client.receiveFrame() !== null) {
      // Whatever it still sent does not matter.
    }
  } catch {
    // Closed with a reset, or on a record it sealed before it closed.
  }
}

/** The stderr lines `server` wrote about `port` since `mark`. */
async function linesAbout(
  server: ServerProcess,
  mark: number,
  port: number,
): Promise<string[]> {
  const prefix = `[127.0.0.1:${port}] `;
  const lines = () =>
    server.stderr.slice(mark).split("\n").filter((line) =>
      line.startsWith(prefix)
    );
  const deadline = Date.now() + 10_000;
  while (
    !lines().some((line) =>
      line.includes("] error: ") ||
      (line.includes("] failed ") && !line.includes("refused by"))
    ) &&
    Date.now() < deadline
  ) await sleep(10);
  // Nothing else may follow that line.
  await sleep(50);
  return lines();
}

Deno.test("hostile: clients that answer a sharing server's manifest wrongly", async (t) => {
  await using source = await tempDir();
  await Deno.writeFile(join(source.path, "a.txt"), A);
  await Deno.writeFile(join(source.path, "b.txt"), B);
  // Without --keep-sharing: a session taken for a complete download would
  // end the server, and the real client at the end would find none.
  await using server = await startServer([
    "--share",
    join(source.path, "a.txt"),
    join(source.path, "b.txt"),
  ]);
  const sendBoth = [{ action: "send", offset: 0 }, {
    action: "send",
    offset: 0,
  }];
  const cases: [string, (c: HostileClient) => Promise<void>, RegExp][] = [
    [
      "decisions out of order",
      (c) =>
        c.sendJson({ type: "decisions", start: 1, items: [], more: false }),
      /error: Client sent decisions out of order$/,
    ],
    [
      "fewer decisions than entries",
      (c) =>
        c.sendJson({
          type: "decisions",
          start: 0,
          items: sendBoth.slice(1),
          more: false,
        }),
      /error: Client sent fewer decisions than entries$/,
    ],
    [
      "more decisions than entries",
      (c) =>
        c.sendJson({
          type: "decisions",
          start: 0,
          items: [...sendBoth, ...sendBoth],
          more: false,
        }),
      /error: Client sent more decisions than entries$/,
    ],
    [
      "accept for a file",
      (c) =>
        c.sendJson({
          type: "decisions",
          start: 0,
          items: [{ action: "accept" }, sendBoth[1]],
          more: false,
        }),
      /error: Client answered accept for file "a\.txt"$/,
    ],
    [
      "an offset beyond the file's size",
      (c) =>
        c.sendJson({
          type: "decisions",
          start: 0,
          items: [{ action: "send", offset: 10 }, sendBoth[1]],
          more: false,
        }),
      /error: Client offered to resume "a\.txt" from offset 10, beyond its size$/,
    ],
    [
      "a sender's message type",
      (c) => c.sendJson({ type: "manifest", entries: [], more: false }),
      /error: Unknown control message type "manifest" from client$/,
    ],
    [
      "a confirmation of a file not sent",
      async (c) => {
        await c.sendJson({
          type: "decisions",
          start: 0,
          items: [sendBoth[0], { action: "refuse", reason: "no" }],
          more: false,
        });
        await c.sendJson({ type: "verified", index: 1, sha256: sha256(B) });
      },
      /failed b\.txt: refused by the client: no\n.*error: Client confirmed file 1, which is not awaiting confirmation$/,
    ],
    [
      "answers to proofs that were never sent",
      async (c) => {
        await c.sendJson({
          type: "decisions",
          start: 0,
          items: sendBoth,
          more: false,
        });
        await c.sendJson({ type: "matches", items: [], more: false });
      },
      /error: Client sent an unexpected matches message$/,
    ],
    [
      "a wrong hash in a confirmation fails that file alone",
      async (c) => {
        await c.sendJson({
          type: "decisions",
          start: 0,
          items: sendBoth,
          more: false,
        });
        assert.ok(await untilDone(c), "the sharer sent everything");
        await c.sendJson({ type: "verified", index: 0, sha256: sha256(B) });
        await c.sendJson({ type: "verified", index: 1, sha256: sha256(B) });
        await c.sendJson({ type: "summary", verified: 2, failed: 0 });
      },
      /failed a\.txt: client's hash [0-9a-f]{64} differs from the sent file's [0-9a-f]{64}$/,
    ],
  ];
  for (const [name, act, phrase] of cases) {
    await t.step(name, async () => {
      const mark = server.stderr.length;
      using client = await getterHandshake(server.port);
      await act(client);
      await drain(client);
      const lines = await linesAbout(server, mark, client.port);
      const refusals = lines.filter((line) => line.includes("refused by"));
      assert.equal(lines.length, 1 + refusals.length, JSON.stringify(lines));
      assert.match(lines.join("\n"), phrase);
    });
  }
  await t.step(
    "the server still shares, and a real client gets the files",
    async () => {
      await using dest = await tempDir();
      const result = await runClient([
        "--get",
        `127.0.0.1:${server.port}`,
        "--dir",
        dest.path,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await Deno.readFile(join(dest.path, "a.txt")), A);
      assert.equal((await server.exited()).code, 0);
    },
  );
});

Deno.test("hostile: a client's summary before the sharing server is done is no complete download", async () => {
  await using source = await tempDir();
  // Larger than the socket buffers between: the summary comes while the
  // server still sends.
  const big = join(source.path, "big.bin");
  await Deno.writeFile(big, new Uint8Array(64 * 1024 * 1024));
  await using server = await startServer(["--share", big]);
  const mark = server.stderr.length;
  {
    using client = await getterHandshake(server.port);
    await client.sendJson({
      type: "decisions",
      start: 0,
      items: [{ action: "send", offset: 0 }],
      more: false,
    });
    await client.sendJson({ type: "summary", verified: 1, failed: 0 });
    // Read only once the server gave up on it.
    const lines = await linesAbout(server, mark, client.port);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.match(
      lines[0],
      /error: Client sent its summary before the server was done$/,
    );
  }
  // The server still shares: it took that session for no download.
  await using dest = await tempDir();
  const result = await runClient([
    "--get",
    `127.0.0.1:${server.port}`,
    "--dir",
    dest.path,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    (await Deno.stat(join(dest.path, "big.bin"))).size,
    64 * 1024 * 1024,
  );
  assert.equal((await server.exited()).code, 0);
});
