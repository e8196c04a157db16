/**
 * Notices a client that hangs up while its key exchange waits for a turn
 * at the guess limiter, so that a connection already gone leaves the line
 * instead of taking a turn and counting as a failed guess.
 *
 * @module
 */

import type { ByteStream } from "./byte_stream.ts";

/** Bytes read ahead while watching; more wait in the connection. */
const WATCH_BUFFER_SIZE = 4096;

/**
 * A stream that can read ahead while nobody else reads: a client sends
 * nothing between its key share and the server's answer, so a read that
 * completes then is either the end of the connection or bytes that are
 * kept for the next real read.
 */
export class HangUpWatch implements ByteStream {
  #stream: ByteStream;
  #ahead: Promise<Uint8Array | null> | null = null;
  #kept: Uint8Array | null = null;

  /** Reads from and writes to `stream`. */
  constructor(stream: ByteStream) {
    this.#stream = stream;
  }

  /**
   * Resolves once the peer has hung up (the end of the stream, or an
   * error) and never otherwise; only call it while no read is pending.
   */
  hangUp(): Promise<void> {
    if (this.#kept !== null) return new Promise(() => {});
    if (this.#ahead === null) {
      const buffer = new Uint8Array(WATCH_BUFFER_SIZE);
      this.#ahead = this.#stream.read(buffer).then(
        (count) => count === null ? null : buffer.subarray(0, count),
        () => null,
      );
    }
    return this.#ahead.then((bytes) =>
      bytes === null ? undefined : new Promise<void>(() => {})
    );
  }

  /** See {@link ByteStream.read}: bytes read ahead come first. */
  async read(buffer: Uint8Array): Promise<number | null> {
    if (this.#ahead !== null) {
      const ahead = this.#ahead;
      this.#ahead = null;
      const bytes = await ahead;
      if (bytes === null) return null;
      this.#kept = bytes;
    }
    if (this.#kept !== null) {
      const count = Math.min(buffer.length, this.#kept.length);
      buffer.set(this.#kept.subarray(0, count));
      this.#kept = count < this.#kept.length
        ? this.#kept.subarray(count)
        : null;
      return count;
    }
    return await this.#stream.read(buffer);
  }

  /** See {@link ByteStream.write}. */
  write(data: Uint8Array): Promise<number> {
    return this.#stream.write(data);
  }

  /** See {@link ByteStream.close}. */
  close(): void {
    this.#stream.close();
  }
}
