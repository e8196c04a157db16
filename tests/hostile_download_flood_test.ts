/**
 * Waves of garbage connections against a sharing server in the middle of
 * a normal download, as `hostile_flood_test.ts` has them against a
 * receiving server during an upload: each is refused on its own, with one
 * log line, and the download completes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { waitForPause } from "./conditions.ts";
import { FaultProxy } from "./fault_proxy.ts";
import { helloBytes, HostileClient } from "./hostile_client.ts";
import { contains, sha256 } from "./hostile_harness.ts";
import {
  randomFile,
  runClient,
  sleep,
  startServer,
  tempDir,
} from "./helpers.ts";
import { MAX_RECORD_BODY } from "../lib/secure/record.ts";
import { encodeHello, HELLO_FLAG_SERVER_SENDS, Role } from "../protocol.ts";

const MiB = 1024 * 1024;

/** The hello of a client that gets files, and the sharing server's. */
const GET_HELLO = helloBytes({ flags: HELLO_FLAG_SERVER_SENDS });
const SHARER_HELLO = encodeHello(Role.Server, HELLO_FLAG_SERVER_SENDS);

/** Reads until the server closes the connection; never throws. */
async function drain(client: HostileClient): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  while ((await client.conn.read(buffer).catch(() => null)) !== null) {
    // What the server sent before it closed does not matter.
  }
}

Deno.test("hostile: waves of 15 garbage connections against a sharing server during a download", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const big = await randomFile(join(source.path, "big.bin"), 48 * MiB);
  await using server = await startServer([
    "--share",
    "--keep-sharing",
    join(source.path, "big.bin"),
  ]);
  const stdoutMark = server.stdout.length;
  const stderrMark = server.stderr.length;
  let clientDone = false;
  // Held half-way until the first wave is over, however fast it goes.
  await using proxy = new FaultProxy(server.port, () => ({ kind: "none" }));
  proxy.pauseAfterDown(24 * MiB);
  const normal = runClient([
    "--get",
    `127.0.0.1:${proxy.port}`,
    "--dir",
    dest.path,
  ]).finally(() => (clientDone = true));
  await waitForPause(proxy);
  const peer = server.stdout.slice(stdoutMark).match(
    /\[(127\.0\.0\.1:\d+)\] connected/,
  )?.[1];
  assert.ok(peer !== undefined, "the normal client connected");
  assert.ok(
    !server.stdout.includes(`[${peer}] done`),
    "the attack starts while the normal session runs",
  );

  const ports: number[] = [];
  /** What the server must log for each garbage connection, by port. */
  const expected: [number, string][] = [];
  // Three kinds of garbage: instead of the hello; after a hello that asks
  // for files, where the key share belongs; and as a record after a
  // complete key exchange. None of them fails a key exchange, so the guess
  // limiter never holds anyone back.
  const attack = async (i: number): Promise<void> => {
    using client = await HostileClient.connect(server.port);
    ports.push(client.port);
    const garbage = new Uint8Array(256);
    crypto.getRandomValues(garbage);
    // Not "D", and as a frame or record length far too big.
    garbage[0] = 0xff;
    const length = new DataView(garbage.buffer).getUint32(0);
    if (i % 3 === 0) {
      expected.push([client.port, "(wrong magic bytes)"]);
      await client.raw(garbage);
      assert.deepEqual(await client.readHello(), SHARER_HELLO);
      assert.ok(await client.readsEof());
    } else if (i % 3 === 1) {
      expected.push([client.port, `Frame of ${length - 1} bytes from peer`]);
      await client.raw(GET_HELLO);
      assert.deepEqual(await client.readHello(), SHARER_HELLO);
      await client.raw(garbage);
      assert.ok(await client.readsEof());
    } else {
      expected.push([
        client.port,
        `Record of ${length} bytes from peer is outside the allowed 17 to ${MAX_RECORD_BODY}`,
      ]);
      await client.raw(GET_HELLO);
      assert.deepEqual(await client.readHello(), SHARER_HELLO);
      await client.confirm(await client.exchangeShares());
      // The confirmation leaves with the next write, the garbage.
      await client.flush();
      await client.raw(garbage);
      await drain(client);
    }
  };
  // 15 at a time and 45 in all stay within what the server takes from one
  // address (lib/net/connection_limiter.ts): 16 unauthenticated
  // connections at once, and 64 new ones in a burst.
  let waves = 0;
  do {
    await Promise.all(Array.from({ length: 15 }, (_, i) => attack(i)));
    waves++;
    proxy.resume();
  } while (!clientDone && waves < 3);

  const result = await normal;
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /1 of \d+ files received and verified/);
  assert.equal(
    sha256(await Deno.readFile(join(dest.path, "big.bin"))),
    sha256(big),
  );
  console.log(`${waves} waves of 15 garbage connections`);

  // Every garbage connection got exactly one log line, nothing else did.
  const lines = () =>
    server.stderr.slice(stderrMark).split("\n").filter((line) => line !== "");
  const deadline = Date.now() + 10_000;
  while (lines().length < ports.length && Date.now() < deadline) {
    await sleep(10);
  }
  assert.equal(lines().length, ports.length, JSON.stringify(lines()));
  // The kernel may hand a closed connection's port to a later one, so a
  // port seen twice has two lines.
  for (const port of new Set(ports)) {
    assert.equal(
      lines().filter((line) => line.startsWith(`[127.0.0.1:${port}] error: `))
        .length,
      ports.filter((other) => other === port).length,
      `one line per connection from port ${port}`,
    );
  }
  for (const [port, phrase] of expected) {
    const line = lines().find((line) =>
      line.startsWith(`[127.0.0.1:${port}] error: `) && line.includes(phrase)
    );
    assert.ok(line !== undefined, `port ${port} logged ${phrase}`);
    contains(line, phrase, "log line");
  }
  // The same server still serves a download.
  await using again = await tempDir();
  const after = await runClient([
    "--get",
    `127.0.0.1:${server.port}`,
    "--dir",
    again.path,
  ]);
  assert.equal(after.code, 0, after.stderr);
});
