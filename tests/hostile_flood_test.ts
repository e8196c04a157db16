/**
 * Waves of garbage connections against a server in the middle of a normal
 * transfer: each is refused on its own, and the transfer completes.
 *
 * The checks every case gets are in `hostile_harness.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runClient, sleep, startServer, tempDir } from "./helpers.ts";
import { waitForPause } from "./conditions.ts";
import { FaultProxy } from "./fault_proxy.ts";
import { MAX_RECORD_BODY } from "../lib/secure/record.ts";
import { contains, Harness, SERVER_HELLO, sha256 } from "./hostile_harness.ts";

Deno.test("hostile: waves of 15 garbage connections during a normal transfer", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);

  await h.step(t, "the normal transfer completes", async () => {
    const big = new Uint8Array(48 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 65536) {
      crypto.getRandomValues(big.subarray(i, i + 65536));
    }
    await Deno.writeFile(join(h.src, "big.bin"), big);
    const stdoutMark = server.stdout.length;
    const stderrMark = server.stderr.length;
    let clientDone = false;
    // Held half-way until the first wave is over, however fast it goes.
    await using proxy = new FaultProxy(server.port, () => ({ kind: "none" }));
    proxy.pauseAfter(24 * 1024 * 1024);
    const normal = runClient([
      `127.0.0.1:${proxy.port}`,
      join(h.src, "big.bin"),
    ]).finally(() => (clientDone = true));
    // Wait until the normal client has connected, then attack.
    const deadline = Date.now() + 20_000;
    let peer: string | undefined;
    while (peer === undefined && Date.now() < deadline && !clientDone) {
      peer = server.stdout.slice(stdoutMark).match(
        /\[(127\.0\.0\.1:\d+)\] connected/,
      )?.[1];
      await sleep(5);
    }
    assert.ok(peer !== undefined, "the normal client connected");
    await waitForPause(proxy);
    assert.ok(
      !server.stdout.includes(`[${peer}] done`),
      "the attack starts while the normal session runs",
    );

    const ports: number[] = [];
    /** What the server must log for each garbage connection, by port. */
    const expected: [number, string][] = [];
    // Three kinds of garbage: instead of the hello; after the hello, where
    // the key share belongs (it fails before any share, so it does not
    // count as a failed key exchange); and as a record after a complete
    // key exchange. None of them fails a key exchange, so the guess limiter
    // never holds anyone back, the normal client included.
    const attack = async (i: number): Promise<void> => {
      const client = await h.connect();
      ports.push(client.port);
      const garbage = new Uint8Array(256);
      crypto.getRandomValues(garbage);
      // Not "D", and as a frame or record length far too big.
      garbage[0] = 0xff;
      const length = new DataView(garbage.buffer).getUint32(0);
      if (i % 3 === 0) {
        expected.push([client.port, "(wrong magic bytes)"]);
        await client.raw(garbage);
        assert.deepEqual(await client.readHello(), SERVER_HELLO);
        assert.ok(await client.readsEof());
      } else if (i % 3 === 1) {
        expected.push([client.port, `Frame of ${length - 1} bytes from peer`]);
        await client.hello();
        await client.raw(garbage);
        assert.ok(await client.readsEof());
      } else {
        const phrase =
          `Record of ${length} bytes from peer is outside the allowed 17 to ${MAX_RECORD_BODY}`;
        expected.push([client.port, phrase]);
        await client.handshake();
        await client.raw(garbage);
        const { messages } = await client.readToEnd();
        assert.equal(messages.length, 1, JSON.stringify(messages));
        assert.equal(messages[0].type, "error");
        contains(
          (messages[0] as { message: string }).message,
          phrase,
          "error message",
        );
      }
      client.close();
    };
    // 15 at a time (and the normal client, maybe still in its key exchange)
    // and 45 in all stay within what the server takes from
    // one address (lib/net/connection_limiter.ts): 16 unauthenticated
    // connections at once, and 64 new ones in a burst.
    let waves = 0;
    do {
      await Promise.all(Array.from({ length: 15 }, (_, i) => attack(i)));
      waves++;
      proxy.resume();
    } while (!clientDone && waves < 3);

    const result = await normal;
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /1 of 1 files sent and verified/);
    const received = await Deno.readFile(join(h.dest, "big.bin"));
    assert.equal(sha256(received), sha256(big));
    console.log(`${waves} waves of 15 garbage connections`);

    // Every garbage connection got exactly one log line, nothing else did.
    const deadline2 = Date.now() + 10_000;
    while (
      h.linesSince(stderrMark).length < ports.length &&
      Date.now() < deadline2
    ) await sleep(10);
    const lines = h.linesSince(stderrMark);
    assert.equal(lines.length, ports.length, JSON.stringify(lines));
    // The kernel may hand a closed connection's port to a later one, so a
    // port seen twice has two lines.
    for (const port of new Set(ports)) {
      assert.equal(
        lines.filter((line) => line.startsWith(`[127.0.0.1:${port}] error: `))
          .length,
        ports.filter((other) => other === port).length,
        `one line per connection from port ${port}`,
      );
    }
    for (const [port, phrase] of expected) {
      assert.ok(
        lines.some((line) =>
          line.startsWith(`[127.0.0.1:${port}] error: `) &&
          line.includes(phrase)
        ),
        `port ${port} logged ${phrase}`,
      );
    }
    await h.assertClean();
    await h.probe();
  }, 120_000);
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-garbage.txt"),
  );
});
