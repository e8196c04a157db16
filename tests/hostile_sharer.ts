/**
 * A misbehaving sharing server: it listens on loopback, completes the real
 * hello and key exchange with {@link TEST_CODE} as a server that sends the
 * files, and then sends whatever a test tells it to, valid or not, to a
 * real `client.ts --get`.
 *
 * Its records are sealed with the real key, so that the client opens them
 * and judges what is inside; {@link SharerSession.capture} keeps the bytes
 * of what the session would send, for a test to send again (a replay),
 * out of order or changed, with {@link SharerSession.raw}. A sharer
 * given a `raw` script does not even say hello: the script gets the bare
 * connection.
 *
 * @module
 */

import type { ByteStream } from "../lib/net/byte_stream.ts";
import { type Channel } from "../lib/secure/channel.ts";
import { establishChannel } from "../lib/secure/handshake.ts";
import { writeAll } from "../lib/common/write_all.ts";
import {
  decodeReceiverMessage,
  encodeMessage,
  type Entry,
  FrameType,
  type ReceiverMessage,
  Role,
  type SenderMessage,
} from "../protocol.ts";
import { testCodeScalar } from "./hostile_client.ts";
import { sha256 } from "./hostile_harness.ts";
import { concat } from "./proxy.ts";

/**
 * The connection under the channel: it passes everything through, but
 * while a capture runs it keeps what the channel writes instead.
 */
class Tap implements ByteStream {
  readonly conn: Deno.Conn;
  captured: Uint8Array[] | null = null;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    return this.conn.read(buffer);
  }

  write(data: Uint8Array): Promise<number> {
    if (this.captured === null) return this.conn.write(data);
    // A copy: a Buffer's slice would share memory the writer then frees.
    this.captured.push(new Uint8Array(data));
    return Promise.resolve(data.length);
  }

  close(): void {
    this.conn.close();
  }
}

/** One accepted connection, past the key exchange. */
export class SharerSession {
  /** The encrypted channel. */
  readonly channel: Channel;
  /** The connection's number, from 0 in the order they came. */
  readonly index: number;
  #tap: Tap;

  /** A session over `channel`, which writes through `tap`. */
  constructor(channel: Channel, tap: Tap, index: number) {
    this.channel = channel;
    this.#tap = tap;
    this.index = index;
  }

  /** The TCP connection, for bytes that bypass the channel. */
  get conn(): Deno.Conn {
    return this.#tap.conn;
  }

  /** Sends a control message and flushes it. */
  async send(message: SenderMessage | Record<string, unknown>): Promise<void> {
    await this.channel.send(
      FrameType.Control,
      new TextEncoder().encode(JSON.stringify(message)),
    );
    await this.channel.flush();
  }

  /** Sends a frame of any type byte with `payload`, sealed. */
  async frame(type: number, payload: Uint8Array): Promise<void> {
    await this.channel.send(type as FrameType, payload);
    await this.channel.flush();
  }

  /** Sends a manifest of `entries` in one message. */
  manifest(entries: Entry[]): Promise<void> {
    return this.send({ type: "manifest", entries, more: false });
  }

  /** Sends one data frame. */
  async data(bytes: Uint8Array): Promise<void> {
    await this.channel.send(FrameType.Data, bytes);
    await this.channel.flush();
  }

  /**
   * The bytes `sending` makes the channel write (sealed records, each
   * counted as sent), kept instead of written: the client never sees them
   * unless the test writes them with {@link SharerSession.raw}.
   */
  async capture(sending: () => Promise<void>): Promise<Uint8Array> {
    await this.channel.flush();
    this.#tap.captured = [];
    try {
      await sending();
      await this.channel.flush();
      return concat(this.#tap.captured);
    } finally {
      this.#tap.captured = null;
    }
  }

  /** Writes `bytes` to the connection as they are, after what is queued. */
  async raw(bytes: Uint8Array): Promise<void> {
    await this.channel.flush();
    await writeAll(this.#tap.conn, bytes);
  }

  /** The next control message from the client, or null at the end. */
  async receive(): Promise<ReceiverMessage | null> {
    for (;;) {
      const frame = await this.channel.receive();
      if (frame === null) return null;
      const message = decodeReceiverMessage(frame.payload, "client");
      if (message.type !== "wait") return message;
    }
  }

  /** The next message, which must be of `type`. */
  async expect<T extends ReceiverMessage["type"]>(
    type: T,
  ): Promise<Extract<ReceiverMessage, { type: T }>> {
    const message = await this.receive();
    if (message?.type !== type) {
      throw new Error(
        `Expected a ${type} message, got ${JSON.stringify(message)}`,
      );
    }
    return message as Extract<ReceiverMessage, { type: T }>;
  }

  /** Reads the client's messages until it closes; never throws. */
  async readToEnd(): Promise<ReceiverMessage[]> {
    const messages: ReceiverMessage[] = [];
    try {
      for (;;) {
        const message = await this.receive();
        if (message === null) return messages;
        messages.push(message);
      }
    } catch {
      return messages;
    }
  }
}

/** What a sharer does with one accepted connection. */
type Serve = (conn: Deno.Conn, index: number) => Promise<void>;

/**
 * A listening hostile sharer that plays its script with every client that
 * connects, each connection on its own.
 */
export class HostileSharer implements AsyncDisposable {
  /** The port it listens on. */
  readonly port: number;
  /** What went wrong in scripts, which a test may look at. */
  readonly failures: unknown[] = [];
  #listener: Deno.TcpListener;
  #accepting: Promise<void>;
  #sessions = new Set<Promise<void>>();
  #conns = new Set<Deno.Conn>();
  #accepted = 0;

  /**
   * Listens, and plays `script` with each client past the key exchange;
   * with `{ raw }`, gives each connection to `raw` before any hello.
   */
  constructor(
    script:
      | ((session: SharerSession) => Promise<void>)
      | { raw: (conn: Deno.Conn, index: number) => Promise<void> },
  ) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = this.#listener.addr.port;
    this.#accepting = this.#accept(
      typeof script !== "function" ? script.raw : async (conn, index) => {
        const tap = new Tap(conn);
        const channel = await establishChannel(tap, {
          role: Role.Server,
          password: testCodeScalar(),
          flushBeforeBlocking: true,
          serverSends: true,
        });
        await script(new SharerSession(channel, tap, index));
      },
    );
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.#accepted;
  }

  async #accept(serve: Serve): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        const index = this.#accepted++;
        this.#conns.add(conn);
        const session = serve(conn, index)
          .catch((error) => {
            // The client gave up on it: what the tests look at is the
            // client, unless a test asks.
            this.failures.push(error);
          })
          .finally(() => {
            this.#conns.delete(conn);
            try {
              conn.close();
            } catch {
              // Already closed.
            }
            this.#sessions.delete(session);
          });
        this.#sessions.add(session);
      }
    } catch {
      // The listener was closed.
    }
  }

  /** Closes every open connection; the scripts end with an error. */
  hangUp(): void {
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  }

  /** Stops listening and waits for the scripts to end. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    await this.#accepting;
    await Promise.all([...this.#sessions]);
  }
}

/** The bytes of `text` and their SHA-256, for data a script sends. */
export function payload(
  text: string | Uint8Array,
): { bytes: Uint8Array; sha256: string } {
  const bytes = typeof text === "string"
    ? new TextEncoder().encode(text)
    : text;
  return { bytes, sha256: sha256(bytes) };
}

/** A control message's bytes, as they go in a control frame. */
export function controlBytes(message: SenderMessage): Uint8Array {
  return encodeMessage(message);
}

/**
 * Sends the whole of `data` as entry `index` of a session whose decisions
 * were read: the file message, one data frame, and the end with its hash.
 */
export async function sendWhole(
  session: SharerSession,
  index: number,
  data: Uint8Array,
): Promise<void> {
  await session.send({ type: "file", index, offset: 0 });
  if (data.length > 0) await session.data(data);
  await session.send({ type: "end", index, sha256: sha256(data) });
}
