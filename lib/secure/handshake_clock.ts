/**
 * Time limits of the server's key exchange: a clock that stops while the
 * attempt waits for its turn, and a way to fail at once when the server
 * ends the connection.
 *
 * @module
 */

/**
 * The key exchange's own clock, which stops while the attempt waits for
 * its turn: the limit covers the peer's steps, not the server's queue.
 */
export class HandshakeClock {
  #remaining: number;
  #started = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onExpiry: () => void;
  #done = false;

  /** Starts with `ms` to run; calls `onExpiry` once they ran out. */
  constructor(ms: number, onExpiry: () => void) {
    this.#remaining = ms;
    this.#onExpiry = onExpiry;
    this.resume();
  }

  /** Stops the clock until {@link resume}. */
  pause(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#remaining -= performance.now() - this.#started;
  }

  /** Lets the clock run again. */
  resume(): void {
    if (this.#done || this.#timer !== undefined) return;
    this.#started = performance.now();
    this.#timer = setTimeout(() => {
      this.#done = true;
      this.#onExpiry();
    }, Math.max(0, this.#remaining));
  }

  /** Stops the clock for good. */
  stop(): void {
    this.#done = true;
    clearTimeout(this.#timer);
  }
}

/** Runs `work`, failing as soon as `signal` aborts. */
export async function unlessAborted<T>(
  work: Promise<T>,
  signal: AbortSignal,
): Promise<T> {
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
    work.catch(() => {});
  }
}
