/**
 * A hostile client that gets files, against a real sharing server: it has
 * the code, but stalls. The server drops it in one line and goes on
 * sharing with honest clients.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { establishChannel } from "../lib/secure/handshake.ts";
import { encodeMessage, FrameType, Role } from "../protocol.ts";
import { PATIENCE_MS } from "./conditions.ts";
import { testCodeScalar } from "./hostile_client.ts";
import { randomFile, runClient, startServer, tempDir } from "./helpers.ts";

Deno.test("a client that only ever says wait before its decisions is dropped by the sharing server, which goes on sharing", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const data = await randomFile(join(source.path, "a.bin"), 100_000);
  await using server = await startServer([
    "--share",
    "--keep-sharing",
    "--idle-timeout",
    "1",
    join(source.path, "a.bin"),
  ]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const channel = await establishChannel(conn, {
    role: Role.Client,
    password: Promise.resolve(testCodeScalar()),
    serverSends: true,
  });
  const manifest = await channel.receive();
  assert.equal(manifest?.type, FrameType.Control);
  // Each wait comes well within the idle timeout, so only the limit on
  // waits without progress can end this.
  const closed = (async () => {
    try {
      while (await channel.receive() !== null) {
        // Nothing the server says moves this client on.
      }
    } catch {
      // Dropped: the end the test waits for.
    }
  })();
  let stalling = true;
  closed.finally(() => stalling = false);
  const giveUp = Date.now() + PATIENCE_MS;
  while (stalling) {
    assert.ok(Date.now() < giveUp, "the server never dropped the client");
    try {
      await channel.send(
        FrameType.Control,
        encodeMessage({ type: "wait" }),
      );
      await channel.flush();
    } catch {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  await closed;
  conn.close();
  await server.waitFor(
    /Client kept saying wait for \d+ s while the server waited for/,
  );
  const honest = await runClient([
    "--get",
    `127.0.0.1:${server.port}`,
    "--dir",
    dest.path,
  ]);
  assert.equal(honest.code, 0, honest.stderr);
  assert.deepEqual(await Deno.readFile(join(dest.path, "a.bin")), data);
});
