/**
 * A misbehaving test client: it speaks the wire format of `protocol.ts`
 * over a real TCP connection, but lets a test send whatever bytes, hellos,
 * handshake messages, records, frames and control messages it likes, valid
 * or not.
 *
 * After {@link HostileClient.handshake} (the hello and a real SPAKE2 key
 * exchange with {@link TEST_CODE}), frames travel as records sealed with the
 * real key, so the server opens them and judges their content; `raw` still
 * writes bytes to the socket as they are.
 *
 * @module
 */

import {
  BufferedReader,
  ConnectionClosedError,
} from "../lib/net/byte_stream.ts";
import {
  type Channel,
  PlainChannel,
  SecureChannel,
} from "../lib/secure/channel.ts";
import { FrameWriter } from "../lib/secure/frame_writer.ts";
import { deriveRecordKeys, newPake } from "../lib/secure/handshake.ts";
import {
  codeToScalar,
  CONFIRMATION_LENGTH,
  type PakeKeys,
  SHARE_LENGTH,
} from "../lib/secure/pake.ts";
import {
  RECORD_HEADER_LENGTH,
  RecordOpener,
  RecordSealer,
  TAG_LENGTH,
} from "../lib/secure/record.ts";
import {
  decodeHello,
  decodeReceiverMessage,
  encodeHello,
  encodeMessage,
  type Entry,
  FRAME_HEADER_LENGTH,
  FrameType,
  HELLO_LENGTH,
  type ReceiverMessage,
  Role,
  type SenderMessage,
} from "../protocol.ts";
import { TEST_CODE } from "./helpers.ts";

const encoder = new TextEncoder();

let testPassword: bigint | undefined;

/** SPAKE2's w for {@link TEST_CODE}; computed once, it costs about 20 ms. */
export function testCodeScalar(): bigint {
  testPassword ??= codeToScalar(TEST_CODE);
  return testPassword;
}

/** A hello with any field replaced; by default the client's valid hello. */
export function helloBytes(
  changes: { version?: number; role?: number; flags?: number } = {},
): Uint8Array {
  const bytes = encodeHello(Role.Client);
  const view = new DataView(bytes.buffer);
  if (changes.version !== undefined) view.setUint16(4, changes.version);
  if (changes.role !== undefined) bytes[6] = changes.role;
  if (changes.flags !== undefined) bytes[7] = changes.flags;
  return bytes;
}

/**
 * One clear frame (as before the key exchange) with an arbitrary type byte
 * and, if given, a length field that lies about the payload (the field
 * counts the type byte, as on the wire).
 */
export function rawFrame(
  type: number,
  payload: Uint8Array,
  lengthField: number = payload.length + 1,
): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_LENGTH + payload.length);
  new DataView(bytes.buffer).setUint32(0, lengthField);
  bytes[4] = type;
  bytes.set(payload, FRAME_HEADER_LENGTH);
  return bytes;
}

/**
 * A record length field of `lengthField` followed by `body`, which need not
 * be as long as the field says nor sealed at all.
 */
export function rawRecord(
  lengthField: number,
  body: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const bytes = new Uint8Array(RECORD_HEADER_LENGTH + body.length);
  new DataView(bytes.buffer).setUint32(0, lengthField);
  bytes.set(body, RECORD_HEADER_LENGTH);
  return bytes;
}

/** Any value as JSON bytes, without the type checks of `encodeMessage`. */
export function jsonBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** A manifest entry for a file, with fields overridable by the test. */
export function fileEntry(
  path: string,
  size = 0,
  extra: Partial<Entry> = {},
): Entry {
  return { path, kind: "file", size, mode: 0o644, mtime: 0, ...extra };
}

/** A manifest entry for a folder. */
export function folderEntry(path: string): Entry {
  return { path, kind: "folder", size: 0, mode: 0o755, mtime: 0 };
}

/** What the server sent until it closed the connection. */
export interface Ending {
  /** Every control message received, in order. */
  messages: ReceiverMessage[];
  /** Whether the connection ended with a reset instead of a clean close. */
  reset: boolean;
}

/** A client connection that sends exactly what the test tells it to. */
export class HostileClient implements Disposable {
  /** The TCP connection. */
  readonly conn: Deno.TcpConn;
  /** The local port, which the server shows in its log lines. */
  readonly port: number;
  #reader: BufferedReader;
  #writer: FrameWriter;
  /** Clear until the key exchange is done, then encrypted. */
  #channel: Channel;
  #sealer: RecordSealer | null = null;
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.port = (conn.localAddr as Deno.NetAddr).port;
    this.#reader = new BufferedReader(conn);
    this.#writer = new FrameWriter(conn);
    this.#channel = new PlainChannel(conn, this.#reader, this.#writer);
  }

  /** Connects to a server on 127.0.0.1:`port`; sends nothing yet. */
  static async connect(port: number): Promise<HostileClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new HostileClient(conn);
  }

  /** Writes raw bytes after everything queued. */
  async raw(bytes: Uint8Array): Promise<void> {
    await this.#writer.sendRaw(bytes);
  }

  /** Reads the server's hello; null when the server closed first. */
  async readHello(): Promise<Uint8Array | null> {
    const hello = await this.#reader.readExact(HELLO_LENGTH, "the hello");
    return hello === null ? null : hello.slice();
  }

  /** The hello exchange; throws unless the server's hello is valid. */
  async hello(): Promise<void> {
    await this.raw(helloBytes());
    const hello = await this.readHello();
    if (hello === null) throw new Error("Server closed before its hello");
    decodeHello(hello, Role.Server);
  }

  /**
   * After the hello: sends a valid key share for {@link TEST_CODE}, reads
   * the server's share and confirmation, checks that confirmation and
   * returns the keys. The server now waits for the client's confirmation.
   */
  async exchangeShares(): Promise<PakeKeys> {
    const pake = newPake(Role.Client, testCodeScalar());
    await this.frame(FrameType.Handshake, pake.share);
    const frame = await this.#channel.receive();
    if (frame === null) throw new Error("Server closed before its key share");
    if (
      frame.type !== FrameType.Handshake ||
      frame.payload.length !== SHARE_LENGTH + CONFIRMATION_LENGTH
    ) {
      throw new Error("Server sent no valid key share");
    }
    const answer = frame.payload.slice();
    const keys = pake.finish(answer.subarray(0, SHARE_LENGTH));
    keys.verifyPeer(answer.subarray(SHARE_LENGTH));
    return keys;
  }

  /**
   * Queues the client's key confirmation for `keys`, like the real client
   * (it leaves with the next write), and encrypts every frame from then on.
   */
  async confirm(keys: PakeKeys): Promise<void> {
    await this.#writer.send(FrameType.Handshake, keys.confirmation);
    const { toServer, toClient } = deriveRecordKeys(keys);
    this.#sealer = new RecordSealer(toServer);
    await this.#writer.startSealing(this.#sealer);
    this.#channel = new SecureChannel(
      this.conn,
      this.#reader,
      this.#writer,
      new RecordOpener(toClient),
    );
  }

  /** The normal hello and key exchange; throws if the server's is invalid. */
  async handshake(): Promise<void> {
    await this.hello();
    await this.confirm(await this.exchangeShares());
  }

  /**
   * The bytes of the next record the client would send, sealed with the
   * real key and counted, for the test to write (changed or not) with
   * `raw`; only after the key exchange.
   */
  async seal(type: number, payload: Uint8Array): Promise<Uint8Array> {
    if (this.#sealer === null) throw new Error("No key exchange yet");
    // Everything queued was sealed before this record.
    await this.#writer.flush();
    const record = new Uint8Array(
      RECORD_HEADER_LENGTH + 1 + payload.length + TAG_LENGTH,
    );
    this.#sealer.seal(type as FrameType, payload, record, 0);
    return record;
  }

  /** Sends a well-formed control message. */
  async send(message: SenderMessage): Promise<void> {
    await this.queue(message);
    await this.flush();
  }

  /** Sends any JSON value as a control frame. */
  async sendJson(value: unknown): Promise<void> {
    await this.frame(FrameType.Control, jsonBytes(value));
  }

  /**
   * Sends one frame of `type` (any byte) with `payload`: in the clear
   * before the key exchange, as a sealed record after it.
   */
  async frame(type: number, payload: Uint8Array): Promise<void> {
    await this.#writer.send(type as FrameType, payload);
    await this.flush();
  }

  /** Sends one data frame. */
  async data(bytes: Uint8Array): Promise<void> {
    await this.queueData(bytes);
    await this.flush();
  }

  /** Queues a control message without writing it yet. */
  queue(message: SenderMessage): Promise<void> {
    return this.#writer.send(FrameType.Control, encodeMessage(message));
  }

  /** Queues a data frame without writing it yet. */
  queueData(bytes: Uint8Array): Promise<void> {
    return this.#writer.send(FrameType.Data, bytes);
  }

  /** Writes out everything queued. */
  flush(): Promise<void> {
    return this.#writer.flush();
  }

  /** The next frame of any type, or null when the server closed. */
  receiveFrame(): Promise<{ type: FrameType; payload: Uint8Array } | null> {
    return this.#channel.receive();
  }

  /**
   * The next control message as the server wrote it, every field kept,
   * or null when the server closed.
   */
  async receiveRaw(): Promise<Record<string, unknown> | null> {
    const frame = await this.#channel.receive();
    if (frame === null) return null;
    if (frame.type !== FrameType.Control) {
      throw new Error(`Server sent a frame of type ${frame.type}`);
    }
    return JSON.parse(new TextDecoder().decode(frame.payload));
  }

  /** The next control message, or null when the server closed. */
  async receive(): Promise<ReceiverMessage | null> {
    const frame = await this.#channel.receive();
    if (frame === null) return null;
    if (frame.type !== FrameType.Control) {
      throw new Error(`Server sent a frame of type ${frame.type}`);
    }
    return decodeReceiverMessage(frame.payload);
  }

  /** The next control message, which must be of `type`. */
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

  /** Reads control messages until the server closes the connection. */
  async readToEnd(): Promise<Ending> {
    const messages: ReceiverMessage[] = [];
    try {
      for (;;) {
        const message = await this.receive();
        if (message === null) return { messages, reset: false };
        messages.push(message);
      }
    } catch (error) {
      if (
        error instanceof Deno.errors.ConnectionReset ||
        error instanceof ConnectionClosedError
      ) {
        return { messages, reset: true };
      }
      throw error;
    }
  }

  /** Whether the server closed the connection without sending anything. */
  async readsEof(): Promise<boolean> {
    try {
      return await this.#reader.readExact(1, "a byte") === null;
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) return true;
      throw error;
    }
  }

  /** Shuts down the sending direction; the server sees the end of stream. */
  async closeWrite(): Promise<void> {
    await this.conn.closeWrite();
  }

  /** Closes the connection; safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
