/**
 * A misbehaving sharing server: it listens on loopback, completes the real
 * hello and key exchange with {@link TEST_CODE} as a server that sends the
 * files, and then sends whatever a test tells it to, valid or not, to a
 * real `client.ts --get`.
 *
 * @module
 */

import { type Channel } from "../lib/secure/channel.ts";
import { establishChannel } from "../lib/secure/handshake.ts";
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

/** One accepted connection, past the key exchange. */
export class SharerSession {
  /** The encrypted channel. */
  readonly channel: Channel;

  /** A session over `channel`. */
  constructor(channel: Channel) {
    this.channel = channel;
  }

  /** Sends a control message and flushes it. */
  async send(message: SenderMessage | Record<string, unknown>): Promise<void> {
    await this.channel.send(
      FrameType.Control,
      new TextEncoder().encode(JSON.stringify(message)),
    );
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

  /** The next control message from the client, or null at the end. */
  async receive(): Promise<ReceiverMessage | null> {
    for (;;) {
      const frame = await this.channel.receive();
      if (frame === null) return null;
      const message = decodeReceiverMessage(frame.payload, "client");
      if (message.type !== "wait") return message;
    }
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

/**
 * A listening hostile sharer that plays `script` with one client, or each
 * script of a list with the next connection.
 */
export class HostileSharer implements AsyncDisposable {
  /** The port it listens on. */
  readonly port: number;
  #listener: Deno.TcpListener;
  #done: Promise<void>;

  /** Listens, and plays the scripts with the clients that connect. */
  constructor(
    script:
      | ((session: SharerSession) => Promise<void>)
      | ((session: SharerSession) => Promise<void>)[],
  ) {
    const scripts = Array.isArray(script) ? script : [script];
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    this.port = listener.addr.port;
    this.#done = (async () => {
      for (const play of scripts) {
        let conn: Deno.Conn;
        try {
          conn = await listener.accept();
        } catch {
          return; // Closed: the test is over.
        }
        try {
          const channel = await establishChannel(conn, {
            role: Role.Server,
            password: testCodeScalar(),
            flushBeforeBlocking: true,
            serverSends: true,
          });
          await play(new SharerSession(channel));
        } catch {
          // The client gave up on it: what the tests look at is the client.
        } finally {
          try {
            conn.close();
          } catch {
            // Already closed.
          }
        }
      }
    })();
  }

  /** Waits for the script to end and stops listening. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    await this.#done;
  }
}

/** The bytes of `text` and their SHA-256, for data a script sends. */
export async function payload(
  text: string,
): Promise<{ bytes: Uint8Array; sha256: string }> {
  const bytes = new TextEncoder().encode(text);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return {
    bytes,
    sha256: [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""),
  };
}

/** A control message's bytes, as they go in a control frame. */
export function controlBytes(message: SenderMessage): Uint8Array {
  return encodeMessage(message);
}
