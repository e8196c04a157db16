/**
 * Slows down online guessing of the short code: after a failed key
 * exchange, further attempts from the same address wait their turn, one at
 * a time, behind a delay that doubles with every failure.
 *
 * @module
 */

/** Tuning of {@link GuessLimiter}. */
export interface GuessLimiterOptions {
  /** Delay after the first failure, in milliseconds. */
  baseDelayMs?: number;
  /** Longest delay, in milliseconds. */
  maxDelayMs?: number;
  /** Failures older than this are forgotten, in milliseconds. */
  forgetAfterMs?: number;
}

interface AddressState {
  failures: number;
  lastFailure: number;
  /** Settles when the attempt ahead in line has finished. */
  tail: Promise<void>;
}

/** Reports on the outcome of one attempt. */
export interface Attempt {
  /** Milliseconds this attempt waited before it could go ahead. */
  waitedMs: number;
  /**
   * Records the outcome and lets the next attempt from the address go
   * ahead; returns the delay the next one will wait, in milliseconds.
   */
  finish(succeeded: boolean): number;
}

/** Tracks failed key exchanges per source address. */
export class GuessLimiter {
  #states = new Map<string, AddressState>();
  #base: number;
  #max: number;
  #forget: number;

  /** A limiter with the given delays (defaults: 500 ms doubling to 60 s). */
  constructor(options: GuessLimiterOptions = {}) {
    this.#base = options.baseDelayMs ?? 500;
    this.#max = options.maxDelayMs ?? 60_000;
    this.#forget = options.forgetAfterMs ?? 60 * 60_000;
  }

  /** Delay owed after `failures` failures, in milliseconds. */
  delayFor(failures: number): number {
    if (failures === 0) return 0;
    return Math.min(this.#base * 2 ** Math.min(failures - 1, 30), this.#max);
  }

  /**
   * Waits until an attempt from `address` may go ahead. An address with
   * no recent failure is not delayed and not queued.
   */
  async begin(address: string): Promise<Attempt> {
    const started = Date.now();
    let state = this.#states.get(address);
    if (state !== undefined && started - state.lastFailure > this.#forget) {
      this.#states.delete(address);
      state = undefined;
    }
    if (state === undefined) {
      return { waitedMs: 0, finish: (ok) => this.#record(address, ok) };
    }
    const ahead = state.tail;
    let release = () => {};
    const turn = new Promise<void>((resolve) => (release = resolve));
    state.tail = turn;
    await ahead;
    const due = state.lastFailure + this.delayFor(state.failures);
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return {
      waitedMs: Date.now() - started,
      finish: (ok) => {
        const next = this.#record(address, ok, turn);
        release();
        return next;
      },
    };
  }

  /** `turn` is the queued attempt's place in line, if it had one. */
  #record(
    address: string,
    succeeded: boolean,
    turn?: Promise<void>,
  ): number {
    const state = this.#states.get(address);
    if (succeeded) {
      // A right code from an address clears its record, unless others
      // are still queued behind it.
      if (state !== undefined && turn !== undefined && state.tail === turn) {
        this.#states.delete(address);
      } else if (state !== undefined) {
        state.failures = 0;
      }
      return 0;
    }
    if (state === undefined) {
      if (this.#states.size >= 100_000) this.#forgetOld();
      this.#states.set(address, {
        failures: 1,
        lastFailure: Date.now(),
        tail: Promise.resolve(),
      });
      return this.delayFor(1);
    }
    state.failures++;
    state.lastFailure = Date.now();
    return this.delayFor(state.failures);
  }

  #forgetOld(): void {
    const now = Date.now();
    for (const [address, state] of this.#states) {
      if (now - state.lastFailure > this.#forget) this.#states.delete(address);
    }
  }
}
