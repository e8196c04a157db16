/**
 * The byte stream under every connection (TCP or TLS), and a reader of
 * exact byte counts from it through one reused buffer.
 *
 * @module
 */

import {
  FRAME_HEADER_LENGTH,
  MAX_FRAME_PAYLOAD,
} from "../protocol/constants.ts";

/** The part of `Deno.Conn` the connection layers need. */
export interface ByteStream {
  /** Reads into `buffer`; resolves to the count read, or null at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `data`; resolves to the count written. */
  write(data: Uint8Array): Promise<number>;
  /** Closes the stream. */
  close(): void;
}

/** Raised when the peer closes the connection in the middle of something. */
export class ConnectionClosedError extends Error {
  /** Creates the error; `message` says what was cut short. */
  constructor(message = "Connection closed by peer") {
    super(message);
    this.name = "ConnectionClosedError";
  }
}

const READ_BUFFER_SIZE = 2 * (MAX_FRAME_PAYLOAD + FRAME_HEADER_LENGTH);

/**
 * Bytes a read may take beyond what the caller asked for. A read that
 * filled the rest of the buffer left most of the next 1 MiB record there,
 * to be moved to the front before it could be taken whole: half a MiB
 * moved per record. Small frames still arrive many to a read.
 */
const READ_AHEAD = 64 * 1024;

/**
 * Bytes a read or write buffer starts with. Buffers grow to full size on
 * first need, so that a connection that never gets past the key exchange
 * costs little memory.
 */
export const INITIAL_BUFFER_SIZE: number = 64 * 1024;

/**
 * Bytes the buffer grows to for reads in pieces: a quarter of the largest
 * frame's, so that pieces cost few reads.
 */
const PIECE_BUFFER_SIZE = 256 * 1024;

/**
 * Reads exact byte counts from a stream through one large reused buffer, so
 * that a frame costs no allocation and no copy.
 */
export class BufferedReader {
  #stream: ByteStream;
  #buffer = new Uint8Array(INITIAL_BUFFER_SIZE);
  #start = 0;
  #end = 0;
  #beforeBlocking: () => Promise<void>;

  /**
   * Reads from `stream`; `beforeBlocking` runs whenever the buffer is empty
   * and the reader is about to wait for the network.
   */
  constructor(
    stream: ByteStream,
    beforeBlocking: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.#stream = stream;
    this.#beforeBlocking = beforeBlocking;
  }

  /** Bytes read from the stream and not yet taken. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Exactly `length` bytes, as a view valid until the next call; null when
   * the stream ends before the first of them, and an error when it ends
   * after some of them.
   */
  async readExact(length: number, what: string): Promise<Uint8Array | null> {
    if (length > READ_BUFFER_SIZE) {
      throw new RangeError(`Cannot buffer ${length} bytes`);
    }
    if (length > this.#buffer.length) {
      const grown = new Uint8Array(READ_BUFFER_SIZE);
      grown.set(this.#buffer.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buffer = grown;
    }
    if (this.#buffer.length - this.#start < length) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const limit = Math.min(
      this.#buffer.length,
      this.#start + length + READ_AHEAD,
    );
    while (this.#end - this.#start < length) {
      await this.#beforeBlocking();
      const count = await this.#stream.read(
        this.#buffer.subarray(this.#end, limit),
      );
      if (count === null) {
        if (this.#end === this.#start) return null;
        throw new ConnectionClosedError(
          `Connection closed in the middle of ${what}`,
        );
      }
      this.#end += count;
    }
    const view = this.#buffer.subarray(this.#start, this.#start + length);
    this.#start += length;
    return view;
  }

  /**
   * From 1 to `max` bytes, as a view valid until the next call: what is
   * buffered, or else what one read brings. Through the buffer as it is,
   * so that a long record read in pieces never grows it. Throws when the
   * stream ends first.
   */
  async readSome(max: number, what: string): Promise<Uint8Array> {
    if (this.#end === this.#start) {
      this.#start = this.#end = 0;
      // Fewer, larger reads: each one is an operation of the runtime.
      if (this.#buffer.length < PIECE_BUFFER_SIZE) {
        this.#buffer = new Uint8Array(PIECE_BUFFER_SIZE);
      }
      await this.#beforeBlocking();
      const count = await this.#stream.read(this.#buffer);
      if (count === null) {
        throw new ConnectionClosedError(
          `Connection closed in the middle of ${what}`,
        );
      }
      this.#end = count;
    }
    const length = Math.min(max, this.#end - this.#start);
    const view = this.#buffer.subarray(this.#start, this.#start + length);
    this.#start += length;
    return view;
  }
}
