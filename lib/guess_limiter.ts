/**
 * Slows down online guessing of the short code. Key exchanges from one
 * source address (one /64 for IPv6) with no failure on record run a few at
 * a time, so that many clients behind one address are not queued; once one
 * failed, they go one at a time, and the next waits behind a delay that
 * doubles with every failure.
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
  /** Attempts from one source at once while it has no failure. */
  parallel?: number;
}

/**
 * Attempts from one source at once while it has no failure: a guesser
 * gains at most this many guesses before the first failure slows it down.
 */
export const PARALLEL_ATTEMPTS = 16;

/**
 * How an attempt ended. Only an attempt that got the server's key
 * confirmation, and so could test one guess, counts as a failure; one that
 * was dropped before that (timeout, hang-up, malformed share) is abandoned.
 */
export type Outcome = "success" | "failure" | "abandoned";

interface SourceState {
  failures: number;
  lastFailure: number;
  /** Attempts under way, past their turn. */
  running: number;
  /** Attempts waiting for their turn, first in line first. */
  waiting: (() => void)[];
  /** Attempts begun and not yet finished. */
  active: number;
}

/** One attempt, once it is its turn. */
export interface Attempt {
  /** Milliseconds this attempt waited before it could go ahead. */
  waitedMs: number;
  /** The part of that wait owed to earlier failures, in milliseconds. */
  penaltyMs: number;
  /**
   * Records the outcome and lets the next attempt from the source go
   * ahead; returns the delay the next one will wait, in milliseconds.
   */
  finish(outcome: Outcome): number;
}

/**
 * The key of a source address: the address itself for IPv4, its /64 prefix
 * for IPv6, since one host commonly owns a whole /64.
 */
export function sourceKey(address: string): string {
  // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d.
  const mapped = address.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i);
  if (mapped) return mapped[1];
  if (!address.includes(":")) return address;
  const [head, tail = ""] = address.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  const groups = address.includes("::")
    ? [
      ...left,
      ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"),
      ...right,
    ]
    : left;
  return groups.slice(0, 4).map((group) =>
    group.replace(/^0+(?=.)/, "").toLowerCase()
  ).join(":") + "::/64";
}

/** Tracks key exchanges and their failures per source. */
export class GuessLimiter {
  #states = new Map<string, SourceState>();
  #base: number;
  #max: number;
  #forget: number;
  #parallel: number;

  /**
   * A limiter with the given delays (defaults: 500 ms doubling to 20 s,
   * which stays below the server's 30 s handshake timeout).
   */
  constructor(options: GuessLimiterOptions = {}) {
    this.#base = options.baseDelayMs ?? 500;
    this.#max = options.maxDelayMs ?? 20_000;
    this.#forget = options.forgetAfterMs ?? 60 * 60_000;
    this.#parallel = Math.max(1, options.parallel ?? PARALLEL_ATTEMPTS);
  }

  /** Delay owed after `failures` failures, in milliseconds. */
  delayFor(failures: number): number {
    if (failures === 0) return 0;
    return Math.min(this.#base * 2 ** Math.min(failures - 1, 30), this.#max);
  }

  /**
   * Waits until an attempt from `address` may go ahead: when fewer than
   * the parallel limit of its source are under way (one, once it failed),
   * in arrival order, and after the delay its failures owe.
   */
  async begin(address: string): Promise<Attempt> {
    const started = Date.now();
    const key = sourceKey(address);
    let state = this.#states.get(key);
    if (state === undefined) {
      if (this.#states.size >= 100_000) this.#forgetIdle(started);
      state = {
        failures: 0,
        lastFailure: 0,
        running: 0,
        waiting: [],
        active: 0,
      };
      this.#states.set(key, state);
    }
    const current = state;
    current.active++;
    if (current.waiting.length > 0 || !this.#hasRoom(current, started)) {
      // Counted as running by #admit when its turn comes.
      await new Promise<void>((resolve) => current.waiting.push(resolve));
    } else {
      current.running++;
    }
    if (Date.now() - current.lastFailure > this.#forget) current.failures = 0;
    const wait = current.lastFailure + this.delayFor(current.failures) -
      Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    let finished = false;
    return {
      waitedMs: Date.now() - started,
      penaltyMs: Math.max(wait, 0),
      finish: (outcome) => {
        if (finished) return this.delayFor(current.failures);
        finished = true;
        if (outcome === "success") current.failures = 0;
        if (outcome === "failure") {
          current.failures++;
          current.lastFailure = Date.now();
        }
        current.active--;
        current.running--;
        this.#admit(current);
        if (current.active === 0 && current.failures === 0) {
          this.#states.delete(key);
        }
        return this.delayFor(current.failures);
      },
    };
  }

  /** Whether another attempt of `state` may run now. */
  #hasRoom(state: SourceState, now: number): boolean {
    if (now - state.lastFailure > this.#forget) state.failures = 0;
    const limit = state.failures === 0 ? this.#parallel : 1;
    return state.running < limit;
  }

  /** Lets waiting attempts of `state` go, first in line first, while room. */
  #admit(state: SourceState): void {
    while (state.waiting.length > 0 && this.#hasRoom(state, Date.now())) {
      state.running++;
      state.waiting.shift()!();
    }
  }

  #forgetIdle(now: number): void {
    for (const [key, state] of this.#states) {
      if (state.active === 0 && now - state.lastFailure > this.#forget) {
        this.#states.delete(key);
      }
    }
  }
}
