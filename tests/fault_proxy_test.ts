/**
 * Tests for {@link FaultProxy} with a real sink server and real clients on
 * loopback.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Fault, FaultProxy } from "./fault_proxy.ts";
import { concat } from "./proxy.ts";

const HOST = "127.0.0.1";
const MIB = 1024 * 1024;
/**
 * How long what must happen may take: on a loaded machine that can be
 * seconds, and only a broken proxy makes a test wait this long.
 */
const PATIENCE_MS = 30_000;

/** One connection the sink accepted. */
interface SinkConnection {
  /** Bytes received so far. */
  received: number;
  /** The bytes received so far, in order. */
  chunks: Uint8Array[];
  /** Whether the connection has ended. */
  ended: boolean;
  /** Settles when the connection has ended and is closed. */
  done: Promise<void>;
}

/** A server that reads and keeps everything sent to it and never writes. */
class Sink {
  readonly port: number;
  /** Accepted connections, in accept order. */
  readonly connections: SinkConnection[] = [];
  readonly #listener: Deno.TcpListener;
  readonly #accepting: Promise<void>;
  readonly #open = new Set<Deno.Conn>();

  constructor() {
    const listener = Deno.listen({ hostname: HOST, port: 0 });
    this.#listener = listener;
    this.port = listener.addr.port;
    this.#accepting = (async () => {
      try {
        for await (const conn of listener) {
          const record: SinkConnection = {
            received: 0,
            chunks: [],
            ended: false,
            done: Promise.resolve(),
          };
          record.done = this.#drain(conn, record);
          this.connections.push(record);
        }
      } catch {
        // Closed.
      }
    })();
  }

  async #drain(conn: Deno.Conn, record: SinkConnection): Promise<void> {
    this.#open.add(conn);
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const count = await conn.read(buffer);
        if (count === null) break;
        record.chunks.push(buffer.slice(0, count));
        record.received += count;
      }
    } catch {
      // Reset or closed.
    }
    record.ended = true;
    this.#open.delete(conn);
    tryClose(conn);
  }

  /** The `index`-th accepted connection, waiting up to `timeoutMs` for it. */
  async connection(
    index: number,
    timeoutMs = PATIENCE_MS,
  ): Promise<SinkConnection> {
    await waitUntil(
      () => this.connections.length > index,
      timeoutMs,
      `sink connection ${index}`,
    );
    return this.connections[index];
  }

  async close(): Promise<void> {
    tryClose(this.#listener);
    await this.#accepting;
    for (const conn of this.#open) tryClose(conn);
    await Promise.all(this.connections.map((record) => record.done));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function tryClose(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Already closed.
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` until true; throws after `timeoutMs`. */
async function waitUntil(
  predicate: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

/** `promise`'s value, or "timeout" if it takes longer than `ms`. */
async function within<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Writes all of `data`; false if a write failed. */
async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<boolean> {
  try {
    let written = 0;
    while (written < data.length) {
      written += await conn.write(data.subarray(written));
    }
    return true;
  } catch {
    return false;
  }
}

/** One read's outcome; never rejects. */
async function readOnce(conn: Deno.Conn): Promise<"eof" | "error" | "data"> {
  try {
    return (await conn.read(new Uint8Array(1024))) === null ? "eof" : "data";
  } catch {
    return "error";
  }
}

/** Reads until end of stream and counts the bytes. */
async function readToEnd(conn: Deno.Conn): Promise<number> {
  const buffer = new Uint8Array(64 * 1024);
  let total = 0;
  for (;;) {
    const count = await conn.read(buffer);
    if (count === null) return total;
    total += count;
  }
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, offset + 65536));
  }
  return bytes;
}

/** Index of the first difference between `a` and `b`, or -1 if equal. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}

/** Sends `data` through the proxy and expects it all at the sink intact. */
async function expectIntact(
  proxy: FaultProxy,
  sink: Sink,
  index: number,
  data: Uint8Array,
): Promise<void> {
  const client = await Deno.connect({ hostname: HOST, port: proxy.port });
  try {
    const sent = await within(
      (async () => {
        assert.ok(await writeAll(client, data), "write failed");
        await client.closeWrite();
        // The sink closes after end of stream, which must come back.
        return await readToEnd(client);
      })(),
      PATIENCE_MS,
    );
    assert.equal(sent, 0, "no end of stream from the proxy in time");
    const record = await sink.connection(index);
    assert.notEqual(await within(record.done, PATIENCE_MS), "timeout");
    assert.equal(record.received, data.length);
    assert.equal(firstDifference(concat(record.chunks), data), -1);
  } finally {
    tryClose(client);
  }
}

Deno.test("FaultProxy: cut on the first connection, none on the second", async (t) => {
  await using sink = new Sink();
  const plan = (index: number): Fault =>
    index === 0 ? { kind: "cut", afterBytes: 100_000 } : { kind: "none" };
  await using proxy = new FaultProxy(sink.port, plan);

  await t.step("cut after 100000 bytes closes the connection", async () => {
    const data = randomBytes(MIB);
    const client = await Deno.connect({ hostname: HOST, port: proxy.port });
    try {
      const wrote = await within(writeAll(client, data), PATIENCE_MS);
      assert.notEqual(
        wrote,
        "timeout",
        "writing through a cut connection hung",
      );
      const read = await within(readOnce(client), PATIENCE_MS);
      assert.ok(
        read === "eof" || read === "error",
        `client connection not closed after the cut: ${read}`,
      );
    } finally {
      tryClose(client);
    }
    const record = await sink.connection(0);
    assert.notEqual(await within(record.done, PATIENCE_MS), "timeout");
    assert.equal(record.received, 100_000);
    assert.equal(
      firstDifference(concat(record.chunks), data.subarray(0, 100_000)),
      -1,
    );
    assert.equal(proxy.bytesUpstream, 100_000);
  });

  await t.step("none forwards 1 MiB intact", async () => {
    await expectIntact(proxy, sink, 1, randomBytes(MIB));
    assert.equal(proxy.connections, 2);
    assert.equal(proxy.bytesUpstream, 100_000 + MIB);
  });
});

Deno.test("FaultProxy: stall after 1000 bytes keeps the connection open", async () => {
  await using sink = new Sink();
  // Not `await using`: a close() that hangs must fail the test, not hang it.
  const proxy = new FaultProxy(
    sink.port,
    () => ({ kind: "stall", afterBytes: 1000 }),
  );
  const client = await Deno.connect({ hostname: HOST, port: proxy.port });
  try {
    assert.ok(await writeAll(client, randomBytes(5000)));
    const record = await sink.connection(0);
    await waitUntil(() => record.received >= 1000, PATIENCE_MS, "1000 bytes");
    await delay(100);
    assert.equal(record.received, 1000);
    assert.equal(proxy.bytesUpstream, 1000);

    const reading = readOnce(client);
    assert.equal(await within(reading, 300), "timeout");
    assert.equal(record.ended, false, "the proxy closed the server side");

    const closing = proxy.close();
    const after = await within(reading, PATIENCE_MS);
    assert.ok(
      after === "eof" || after === "error",
      `client not closed by proxy.close(): ${after}`,
    );
    assert.notEqual(await within(record.done, PATIENCE_MS), "timeout");
    assert.equal(record.received, 1000);
    assert.notEqual(
      await within(closing, PATIENCE_MS),
      "timeout",
      "close() hung",
    );
  } finally {
    tryClose(client);
    await within(proxy.close(), PATIENCE_MS);
  }
});

Deno.test("FaultProxy: random-drop with probability 1 closes at the first chunk", async () => {
  await using sink = new Sink();
  await using proxy = new FaultProxy(
    sink.port,
    () => ({ kind: "random-drop", probability: 1, seed: 42 }),
  );
  const client = await Deno.connect({ hostname: HOST, port: proxy.port });
  try {
    await writeAll(client, new TextEncoder().encode("first chunk"));
    const read = await within(readOnce(client), PATIENCE_MS);
    assert.ok(
      read === "eof" || read === "error",
      `client connection not closed: ${read}`,
    );
  } finally {
    tryClose(client);
  }
  const record = await sink.connection(0);
  assert.notEqual(await within(record.done, PATIENCE_MS), "timeout");
  assert.equal(record.received, 0);
  assert.equal(proxy.bytesUpstream, 0);
  assert.equal(proxy.connections, 1);
});

Deno.test("FaultProxy: random-drop with probability 0 forwards everything", async () => {
  await using sink = new Sink();
  await using proxy = new FaultProxy(
    sink.port,
    () => ({ kind: "random-drop", probability: 0, seed: 42 }),
  );
  await expectIntact(proxy, sink, 0, randomBytes(MIB));
  assert.equal(proxy.bytesUpstream, MIB);
});

Deno.test("FaultProxy: pauseAfter stops forwarding at the mark until resume", async () => {
  await using sink = new Sink();
  await using proxy = new FaultProxy(sink.port, () => ({ kind: "none" }));
  const data = randomBytes(4 * MIB);
  const mark = MIB + 12_345;
  proxy.pauseAfter(mark);
  assert.equal(proxy.paused, false);
  const client = await Deno.connect({ hostname: HOST, port: proxy.port });
  try {
    const writing = writeAll(client, data).then(() => client.closeWrite());
    await waitUntil(() => proxy.paused, PATIENCE_MS, "the pause");
    const record = await sink.connection(0);
    await waitUntil(() => record.received >= mark, PATIENCE_MS, "the mark");
    // At most one read past the mark, and nothing more while paused.
    const held = proxy.bytesUpstream;
    assert.ok(held >= mark && held <= mark + 256 * 1024, `${held} forwarded`);
    await delay(100);
    assert.equal(proxy.bytesUpstream, held);
    assert.equal(record.received, held);
    proxy.resume();
    assert.equal(proxy.paused, false);
    assert.notEqual(await within(writing, PATIENCE_MS), "timeout");
    assert.notEqual(await within(record.done, PATIENCE_MS), "timeout");
    assert.equal(firstDifference(concat(record.chunks), data), -1);
  } finally {
    tryClose(client);
  }
});

Deno.test("FaultProxy: closeStalled ends stalled connections only", async () => {
  await using sink = new Sink();
  await using proxy = new FaultProxy(
    sink.port,
    (index) =>
      index === 0 ? { kind: "stall", afterBytes: 1000 } : { kind: "none" },
  );
  const stalled = await Deno.connect({ hostname: HOST, port: proxy.port });
  try {
    assert.ok(await writeAll(stalled, randomBytes(5000)));
    const record = await sink.connection(0);
    await waitUntil(() => record.received >= 1000, PATIENCE_MS, "1000 bytes");
    proxy.closeStalled();
    const read = await within(readOnce(stalled), PATIENCE_MS);
    assert.ok(read === "eof" || read === "error", `not closed: ${read}`);
    assert.notEqual(await within(record.done, PATIENCE_MS), "timeout");
    assert.equal(record.received, 1000);
    await expectIntact(proxy, sink, 1, randomBytes(MIB));
  } finally {
    tryClose(stalled);
  }
});
