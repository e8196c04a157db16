/**
 * Connections from another loopback address than 127.0.0.1, so that a
 * server under test sees a second source: node:net can bind the local
 * address (`localAddress: "127.0.0.9"`), Deno.connect cannot.
 *
 * @module
 */

import net from "node:net";
import { newPake } from "../lib/secure/handshake.ts";
import { codeToScalar } from "../lib/secure/pake.ts";
import {
  encodeHello,
  FRAME_HEADER_LENGTH,
  FrameType,
  HELLO_LENGTH,
  Role,
} from "../protocol.ts";

/** The address the hostile side connects from in these tests. */
export const OTHER_SOURCE = "127.0.0.9";

/** A raw connection from `localAddress` and what it received. */
export class SourcedSocket {
  readonly socket: net.Socket;
  /** Every byte received so far. */
  received = new Uint8Array(0);
  /** Whether the server ended or reset the connection. */
  ended = false;
  readonly #connected: Promise<void>;
  readonly #closed: Promise<void>;
  #waiters: (() => void)[] = [];

  /** Connects to 127.0.0.1:`port` from `localAddress`. */
  constructor(port: number, localAddress = OTHER_SOURCE) {
    this.socket = net.connect({ host: "127.0.0.1", port, localAddress });
    this.socket.setNoDelay(true);
    this.#connected = new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
    this.#connected.catch(() => {});
    this.#closed = new Promise((resolve) => {
      this.socket.on("close", () => {
        this.ended = true;
        this.#wake();
        resolve();
      });
    });
    this.socket.on("error", () => {});
    this.socket.on("data", (chunk: Uint8Array) => {
      const grown = new Uint8Array(this.received.length + chunk.length);
      grown.set(this.received);
      grown.set(chunk, this.received.length);
      this.received = grown;
      this.#wake();
    });
  }

  /** Resolves once connected. */
  connected(): Promise<void> {
    return this.#connected;
  }

  /** Writes `bytes`. */
  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Waits until `count` bytes arrived or the connection ended. */
  async receive(count: number): Promise<Uint8Array> {
    while (this.received.length < count && !this.ended) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.received;
  }

  /** Waits until the server closed the connection. */
  closed(): Promise<void> {
    return this.#closed;
  }

  /** Closes the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** One clear handshake frame carrying `payload`. */
export function handshakeFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_LENGTH + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length + 1);
  frame[4] = FrameType.Handshake;
  frame.set(payload, FRAME_HEADER_LENGTH);
  return frame;
}

const scalars = new Map<string, bigint>();

/** The client's hello followed by a fresh key share for `code`. */
export function guessBytes(code: string): Uint8Array {
  let scalar = scalars.get(code);
  if (scalar === undefined) scalars.set(code, scalar = codeToScalar(code));
  const share = newPake(Role.Client, scalar).share;
  const hello = encodeHello(Role.Client);
  const bytes = new Uint8Array(hello.length + FRAME_HEADER_LENGTH + 65);
  bytes.set(hello);
  bytes.set(handshakeFrame(share), hello.length);
  return bytes;
}

/** The client's hello followed by a share that is not a P-256 point. */
export function invalidShareBytes(): Uint8Array {
  const share = new Uint8Array(65);
  share[0] = 0x04;
  share[32] = 1;
  share[64] = 1;
  const hello = encodeHello(Role.Client);
  const bytes = new Uint8Array(hello.length + FRAME_HEADER_LENGTH + 65);
  bytes.set(hello);
  bytes.set(handshakeFrame(share), hello.length);
  return bytes;
}

/** Bytes of the server's hello and its answer to a key share. */
export const ANSWER_LENGTH = HELLO_LENGTH + FRAME_HEADER_LENGTH + 97;
