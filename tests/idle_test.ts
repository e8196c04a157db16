import assert from "node:assert/strict";
import { IdleTimeoutError, IdleTimeoutStream } from "../lib/net/idle.ts";
import { sleep, socketPair } from "./helpers.ts";

/** For the tests where the timeout must strike. */
const TIMEOUT_MS = 200;
/**
 * For the tests where it must not: a loaded machine may pause the test
 * for a few hundred milliseconds between two steps that are 100 ms apart.
 */
const PATIENT_MS = 1000;

function isIdleTimeout(message: string): (error: Error) => boolean {
  return (error) => {
    assert.ok(error instanceof IdleTimeoutError);
    assert.equal(error.name, "IdleTimeoutError");
    assert.equal(error.message, message);
    return true;
  };
}

Deno.test("a read with no data times out and closes the connection", async () => {
  using pair = await socketPair();
  const [client, server] = pair;
  const idle = new IdleTimeoutStream(server, TIMEOUT_MS);
  const buffer = new Uint8Array(16);
  await assert.rejects(
    idle.read(buffer),
    isIdleTimeout("No data from the peer for 0.2 s"),
  );
  assert.equal(await client.read(buffer), null);
  await assert.rejects(
    idle.write(new Uint8Array(1)),
    isIdleTimeout("No data from the peer for 0.2 s"),
  );
  idle.close();
});

Deno.test("a steady trickle of data is not timed out", async () => {
  using pair = await socketPair();
  const [client, server] = pair;
  const idle = new IdleTimeoutStream(server, PATIENT_MS);
  const sent = Array.from({ length: 25 }, (_, i) => i + 1);
  const sending = (async () => {
    for (const byte of sent) {
      await sleep(PATIENT_MS / 10);
      await client.write(new Uint8Array([byte]));
    }
    client.close();
  })();
  const received: number[] = [];
  const buffer = new Uint8Array(16);
  for (;;) {
    const count = await idle.read(buffer);
    if (count === null) break;
    received.push(...buffer.subarray(0, count));
  }
  await sending;
  idle.close();
  assert.deepEqual(received, sent);
});

Deno.test("a write to a peer that never reads times out", async () => {
  using pair = await socketPair();
  const [client] = pair;
  const idle = new IdleTimeoutStream(client, TIMEOUT_MS);
  const chunk = new Uint8Array(1024 * 1024);
  let written = 0;
  await assert.rejects(async () => {
    // Far more than loopback socket buffers hold, so the writes must block.
    while (written < 1024 * chunk.length) {
      written += await idle.write(chunk);
    }
  }, isIdleTimeout("The peer stopped reading for 0.2 s"));
  assert.ok(written > 0);
  assert.ok(written < 1024 * chunk.length);
  idle.close();
});

Deno.test("time with nothing pending does not count as idle", async () => {
  using pair = await socketPair();
  const [client, server] = pair;
  const idle = new IdleTimeoutStream(server, PATIENT_MS);
  const buffer = new Uint8Array(16);
  // Each pause plus the wait after it is longer than the timeout; the
  // shorter pause ends while the timer from the read before is still armed.
  for (const pause of [PATIENT_MS * 0.9, PATIENT_MS * 2]) {
    await client.write(new Uint8Array([1]));
    assert.equal(await idle.read(buffer), 1);
    await sleep(pause);
    const reading = idle.read(buffer);
    await sleep(PATIENT_MS * 0.3);
    await client.write(new Uint8Array([2]));
    assert.equal(await reading, 1);
    assert.equal(buffer[0], 2);
  }
  idle.close();
});

Deno.test("writes completing keep a pending read alive", async () => {
  using pair = await socketPair();
  const [client, server] = pair;
  const idle = new IdleTimeoutStream(client, PATIENT_MS);
  const reply = new Uint8Array(16);
  const reading = idle.read(reply);
  for (let i = 0; i < 25; i++) {
    await sleep(PATIENT_MS / 10);
    assert.equal(await idle.write(new Uint8Array([i])), 1);
  }
  await server.write(new Uint8Array([42]));
  assert.equal(await reading, 1);
  assert.equal(reply[0], 42);
  idle.close();
});
