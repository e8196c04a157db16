/**
 * An idle timeout for a byte stream: a peer that neither sends nor reads
 * for too long is given up on, instead of hanging the transfer forever.
 *
 * @module
 */

import type { ByteStream } from "./byte_stream.ts";

/** Raised when the peer made no progress for the whole idle timeout. */
export class IdleTimeoutError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "IdleTimeoutError";
  }
}

/**
 * Wraps a stream so that a read or write left waiting for `timeoutMs`
 * without any read or write completing closes the stream and fails with an
 * {@link IdleTimeoutError}. Time with nothing pending does not count, so a
 * program busy with other work is never timed out.
 */
export class IdleTimeoutStream implements ByteStream {
  #stream: ByteStream;
  #timeoutMs: number;
  #reads = 0;
  #writes = 0;
  #lastProgress = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #error: IdleTimeoutError | null = null;
  #closed = false;
  #waited = 0;
  #waitingSince = 0;
  #bytes = 0;

  /** Forwards to `stream`, giving up after `timeoutMs` without progress. */
  constructor(stream: ByteStream, timeoutMs: number) {
    this.#stream = stream;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Milliseconds during which a read or a write was waiting on the peer,
   * in all: what the peer's pace cost this side.
   */
  get waitedMs(): number {
    const now = this.#reads + this.#writes > 0
      ? performance.now() - this.#waitingSince
      : 0;
    return this.#waited + now;
  }

  /** Bytes read and written in all. */
  get bytes(): number {
    return this.#bytes;
  }

  /** See {@link ByteStream.read}; fails once the timeout has struck. */
  async read(buffer: Uint8Array): Promise<number | null> {
    if (this.#error) throw this.#error;
    this.#begin();
    this.#reads++;
    try {
      const count = await this.#track(this.#stream.read(buffer));
      this.#bytes += count ?? 0;
      return count;
    } finally {
      this.#reads--;
      this.#end();
    }
  }

  /** See {@link ByteStream.write}; fails once the timeout has struck. */
  async write(data: Uint8Array): Promise<number> {
    if (this.#error) throw this.#error;
    this.#begin();
    this.#writes++;
    try {
      const count = await this.#track(this.#stream.write(data));
      this.#bytes += count;
      return count;
    } finally {
      this.#writes--;
      this.#end();
    }
  }

  /** Closes the stream and stops the timer; safe to call more than once. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#stream.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  #begin(): void {
    if (this.#reads + this.#writes === 0) {
      this.#waitingSince = performance.now();
    }
  }

  #end(): void {
    if (this.#reads + this.#writes === 0) {
      this.#waited += performance.now() - this.#waitingSince;
    }
  }

  async #track<T>(operation: Promise<T>): Promise<T> {
    // The clock starts when waiting starts, not at the last completion, so
    // that a pause with nothing pending is not held against the peer.
    if (this.#reads + this.#writes === 1) {
      this.#lastProgress = performance.now();
    }
    if (this.#timer === undefined && !this.#closed) this.#arm(this.#timeoutMs);
    try {
      const result = await operation;
      this.#lastProgress = performance.now();
      return result;
    } catch (error) {
      // Closing the stream fails the operation with a generic error.
      throw this.#error ?? error;
    }
  }

  // The timer is only rearmed when it fires, not on every completion, so
  // that a busy stream costs no timer churn.
  #arm(delay: number): void {
    const timer = setTimeout(() => this.#check(), delay);
    // An idle timer alone must not keep the process running.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #check(): void {
    this.#timer = undefined;
    if (this.#closed || this.#reads + this.#writes === 0) return;
    const idle = performance.now() - this.#lastProgress;
    if (idle < this.#timeoutMs) {
      this.#arm(this.#timeoutMs - idle);
      return;
    }
    const seconds = this.#timeoutMs / 1000;
    // A blocked write is the more telling sign: the peer stopped reading.
    this.#error = new IdleTimeoutError(
      this.#writes > 0
        ? `The peer stopped reading for ${seconds} s`
        : `No data from the peer for ${seconds} s`,
    );
    this.close();
  }
}
