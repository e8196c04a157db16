/**
 * A TCP proxy on loopback for tests: it records every byte in both
 * directions and can change the client's bytes on their way.
 *
 * @module
 */

/** Changes bytes from the client; `offset` is where `chunk` starts. */
export type Mutator = (chunk: Uint8Array, offset: number) => Uint8Array;

async function pump(
  from: Deno.Conn,
  to: Deno.Conn,
  record: Uint8Array[],
  mutate?: Mutator,
): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  let offset = 0;
  try {
    for (;;) {
      const count = await from.read(buffer);
      if (count === null) break;
      let chunk: Uint8Array = buffer.slice(0, count);
      if (mutate) chunk = mutate(chunk, offset);
      offset += count;
      record.push(chunk);
      let written = 0;
      while (written < chunk.length) {
        written += await to.write(chunk.subarray(written));
      }
    }
  } catch {
    // Either side went away: the other is closed below.
  }
  for (const conn of [from, to]) {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

/** A running proxy in front of a server port. */
export class TcpProxy {
  /** The port clients connect to. */
  readonly port: number;
  /** Bytes from clients to the server, per connection in order. */
  readonly upstream: Uint8Array[][] = [];
  /** Bytes from the server to clients, per connection in order. */
  readonly downstream: Uint8Array[][] = [];
  #listener: Deno.TcpListener;
  #pumps: Promise<void>[] = [];
  #accepting: Promise<void>;

  constructor(targetPort: number, mutate?: Mutator) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    this.port = (listener.addr as Deno.NetAddr).port;
    this.#accepting = (async () => {
      try {
        for await (const client of listener) {
          const server = await Deno.connect({
            hostname: "127.0.0.1",
            port: targetPort,
          });
          const up: Uint8Array[] = [];
          const down: Uint8Array[] = [];
          this.upstream.push(up);
          this.downstream.push(down);
          this.#pumps.push(
            pump(client, server, up, mutate),
            pump(server, client, down),
          );
        }
      } catch {
        // Closed.
      }
    })();
  }

  /** Stops accepting and waits for open connections to end. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    await this.#accepting;
    await Promise.all(this.#pumps);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** All the chunks of `parts` joined into one array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** Whether `needle` occurs anywhere in `haystack`. */
export function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}
