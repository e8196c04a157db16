/**
 * Slows down online guessing of the short code. Every key exchange counts
 * at each level of its source (see `sourceKeys`: the IPv4 address, or the
 * IPv6 /64, /56 and /48). A level owes a delay once its failures exceed its
 * allowance (none for the address or /64, 8 for a /56, 32 for a /48): then
 * the attempts under it go one at a time, each after a delay that doubles
 * with every further failure. Before its first failure an address or /64
 * runs up to 16 attempts at once, so that many clients behind one address
 * are not queued. Once the whole server has seen many failures in the last
 * hour, attempts that owe a delay somewhere also take turns server-wide;
 * a source that owes nothing is never held back. A success erases nothing.
 *
 * @module
 */

import { sourceKeys } from "../net/sources.ts";
import {
  HourOfFailures,
  type Level,
  LevelRecords,
  newLevel,
} from "./guess_records.ts";

/** Tuning of {@link GuessLimiter}. */
export interface GuessLimiterOptions {
  /** Delay after the first failure owed, in milliseconds. */
  baseDelayMs?: number;
  /** Longest delay, in milliseconds. */
  maxDelayMs?: number;
  /** A level's failures are forgotten this long after its last one. */
  forgetAfterMs?: number;
  /** Attempts from one address or /64 at once while it has no failure. */
  parallel?: number;
  /** Longest wait for a turn before the attempt is given up, in ms. */
  maxWaitMs?: number;
  /** Attempts of one address or /64 that may wait at once. */
  maxWaiting?: number;
  /** Failures in the last hour after which the server-wide turn applies. */
  serverCeiling?: number;
  /** Spacing of server-wide turns after a failure, in milliseconds. */
  serverSpacingMs?: number;
}

/**
 * Attempts from one address or /64 at once while it has no failure: a
 * guesser gains at most this many guesses before its first failure slows
 * it down.
 */
export const PARALLEL_ATTEMPTS = 16;

/** Failures a level takes before it owes delays: address or /64, /56, /48. */
export const FREE_FAILURES: readonly number[] = [0, 8, 32];

/** Failures in one hour across the server before its turns apply. */
export const SERVER_CEILING = 1000;

/**
 * How an attempt ended. It fails when it ended in any way after the server
 * answered (and so could test one guess), and also when the client's key
 * share was invalid, which cost the server curve work; one dropped before
 * that (hang-up, malformed frame, a wait given up) is abandoned.
 */
export type Outcome = "success" | "failure" | "abandoned";

/** Raised when an attempt cannot be given a turn. */
export class GuessLimitError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "GuessLimitError";
  }
}

interface Waiter {
  levels: Level[];
  arrived: number;
  admit: (attempt: Attempt) => void;
  refuse: (error: unknown) => void;
}

/** When a waiting attempt may go, and on what terms. */
interface Turn {
  /** Undefined while a level has no room: a finish will tell. */
  readyAt?: number;
  /** Whether some level of its source owes a delay. */
  owes: boolean;
  /** Whether it takes the server-wide turn. */
  server: boolean;
  /** The source key whose failures it waits for; null for the server's. */
  heldBy: string | null;
}

/** One attempt, once it is its turn. */
export interface Attempt {
  /** Milliseconds this attempt waited before it could go ahead. */
  waitedMs: number;
  /** The part of that wait owed to earlier failures, in milliseconds. */
  penaltyMs: number;
  /**
   * Whose failures it waited for: a source key (an address or prefix), or
   * null when it waited for its server-wide turn.
   */
  heldBy: string | null;
  /**
   * Records the outcome and lets waiting attempts go ahead; returns the
   * delay the next attempt from the same source will owe, in milliseconds.
   */
  finish(outcome: Outcome): number;
}

/** Tracks key exchanges and their failures per source level. */
export class GuessLimiter {
  #records: LevelRecords;
  #waiting: Waiter[] = [];
  #server: Level = newLevel("the server", 0);
  #serverFailures = new HourOfFailures();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #base: number;
  #max: number;
  #parallel: number;
  #maxWait: number;
  #maxWaiting: number;
  #ceiling: number;
  #spacing: number;

  /**
   * A limiter with the given tuning (defaults: 500 ms doubling to 20 s,
   * failures forgotten after an hour, 16 attempts at once, waits of up to
   * 3 minutes, 16 waiting per source, turns server-wide 1 s apart after
   * 1000 failures in an hour).
   */
  constructor(options: GuessLimiterOptions = {}) {
    this.#base = options.baseDelayMs ?? 500;
    this.#max = options.maxDelayMs ?? 20_000;
    this.#records = new LevelRecords(options.forgetAfterMs ?? 60 * 60_000);
    this.#parallel = Math.max(1, options.parallel ?? PARALLEL_ATTEMPTS);
    this.#maxWait = options.maxWaitMs ?? 180_000;
    this.#maxWaiting = Math.max(1, options.maxWaiting ?? PARALLEL_ATTEMPTS);
    this.#ceiling = options.serverCeiling ?? SERVER_CEILING;
    this.#spacing = options.serverSpacingMs ?? 1000;
  }

  /** Delay owed after `failures` failures beyond the allowance, in ms. */
  delayFor(failures: number): number {
    if (failures <= 0) return 0;
    return Math.min(this.#base * 2 ** Math.min(failures - 1, 30), this.#max);
  }

  /**
   * Waits until an attempt from `address` may go ahead: in arrival order
   * among its address or /64, when every level of its source has room and
   * has waited out the delay its failures owe. Fails with a
   * {@link GuessLimitError} when too many wait already or the wait grows
   * too long, and with the reason of `signal` when that aborts first.
   */
  begin(address: string, signal?: AbortSignal): Promise<Attempt> {
    const now = performance.now();
    const levels = sourceKeys(address).map((key, index) =>
      this.#records.use(key, FREE_FAILURES[index] ?? 0, now)
    );
    const finest = levels[0];
    if (finest.waiting >= this.#maxWaiting || signal?.aborted) {
      this.#records.release(levels);
      return Promise.reject(
        signal?.aborted ? signal.reason : new GuessLimitError(
          `${finest.waiting} key exchanges from ${finest.key} already wait for their turn`,
        ),
      );
    }
    return new Promise<Attempt>((resolve, reject) => {
      const onAbort = () => {
        if (!this.#drop(waiter)) return;
        reject(signal!.reason);
        this.#pump();
      };
      const waiter: Waiter = {
        levels,
        arrived: now,
        admit: (attempt) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(attempt);
        },
        refuse: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      finest.waiting++;
      this.#waiting.push(waiter);
      this.#pump();
    });
  }

  /** Takes `waiter` out of the line; false if it was no longer there. */
  #unqueue(waiter: Waiter): boolean {
    const index = this.#waiting.indexOf(waiter);
    if (index === -1) return false;
    this.#waiting.splice(index, 1);
    waiter.levels[0].waiting--;
    return true;
  }

  /** Takes `waiter` out of the line for good; false if it was not there. */
  #drop(waiter: Waiter): boolean {
    if (!this.#unqueue(waiter)) return false;
    this.#records.release(waiter.levels);
    return true;
  }

  /** Whether the server has seen its ceiling of failures in the last hour. */
  #serverOwes(now: number): boolean {
    return this.#serverFailures.count(now) >= this.#ceiling;
  }

  /** Lets every waiting attempt go whose turn it is; rearms the timer. */
  #pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = performance.now();
    const serverOwes = this.#serverOwes(now);
    // One waiting attempt of an address or /64 blocks the later ones.
    const blocked = new Set<Level>();
    let wake = Infinity;
    for (const waiter of [...this.#waiting]) {
      const giveUpAt = waiter.arrived + this.#maxWait;
      if (now >= giveUpAt) {
        this.#drop(waiter);
        waiter.refuse(
          new GuessLimitError(
            `Waited ${
              Math.round(this.#maxWait / 1000)
            } s for a turn to try the code`,
          ),
        );
        continue;
      }
      wake = Math.min(wake, giveUpAt);
      if (blocked.has(waiter.levels[0])) continue;
      const turn = this.#turn(waiter.levels, now, serverOwes);
      if (turn.readyAt === undefined) {
        blocked.add(waiter.levels[0]);
      } else if (turn.readyAt > now) {
        blocked.add(waiter.levels[0]);
        wake = Math.min(wake, turn.readyAt);
      } else {
        this.#unqueue(waiter);
        waiter.admit(this.#start(waiter, turn, now));
      }
    }
    if (wake < Infinity) {
      this.#timer = setTimeout(() => this.#pump(), Math.max(0, wake - now));
    }
  }

  /** When an attempt of `levels` may go (see {@link Turn}). */
  #turn(
    levels: Level[],
    now: number,
    serverOwes: boolean,
  ): Turn {
    let readyAt = 0;
    let room = true;
    let owes = false;
    let heldBy: string | null = levels[0].key;
    const consider = (level: Level, at: number) => {
      if (level.running >= 1) room = false;
      if (at > readyAt) [readyAt, heldBy] = [at, level.key];
    };
    for (const level of levels) {
      this.#records.refresh(level, now);
      const excess = level.failures - level.free;
      if (excess > 0) {
        owes = true;
        consider(level, level.lastFailure + this.delayFor(excess));
      } else if (level === levels[0] && level.running >= this.#parallel) {
        room = false;
      }
    }
    const server = owes && serverOwes;
    if (server) {
      const before = readyAt;
      consider(this.#server, this.#server.lastFailure + this.#spacing);
      if (readyAt > before) heldBy = null;
    }
    return { readyAt: room ? readyAt : undefined, owes, server, heldBy };
  }

  #start(waiter: Waiter, turn: Turn, now: number): Attempt {
    const { levels } = waiter;
    const counted = turn.server ? [...levels, this.#server] : levels;
    for (const level of counted) level.running++;
    const waited = Math.round(now - waiter.arrived);
    let finished = false;
    return {
      waitedMs: waited,
      penaltyMs: turn.owes ? waited : 0,
      heldBy: turn.heldBy,
      finish: (outcome) => {
        if (finished) return this.#owed(levels);
        finished = true;
        const at = performance.now();
        for (const level of counted) level.running--;
        if (outcome === "failure") {
          for (const level of levels) {
            this.#records.refresh(level, at);
            level.failures++;
            level.lastFailure = at;
          }
          // Server-wide turns are spaced after their own failures only,
          // so that fresh sources failing elsewhere cannot starve them.
          if (turn.server) this.#server.lastFailure = at;
          this.#serverFailures.add(at);
        }
        const owed = this.#owed(levels);
        this.#records.release(levels);
        this.#pump();
        return owed;
      },
    };
  }

  /** The longest delay the levels owe after their last failure. */
  #owed(levels: Level[]): number {
    return Math.max(
      ...levels.map((level) => this.delayFor(level.failures - level.free)),
    );
  }
}
