/**
 * The guess limiter's records: failures per level of each source (see
 * `sourceKeys`), forgotten an hour after the last one and bounded in
 * number, and the server's failures of the last hour, per minute.
 *
 * @module
 */

/** One level of a source, or the whole server. */
export interface Level {
  /** The source key, or "the server". */
  key: string;
  /** Failures it takes before it owes delays. */
  free: number;
  /** Failures not yet forgotten. */
  failures: number;
  /** When the last one was, in `performance.now()` milliseconds. */
  lastFailure: number;
  /** Attempts under way, past their turn. */
  running: number;
  /** Attempts waiting for their turn (only kept for the finest level). */
  waiting: number;
  /** Attempts waiting or running that count here. */
  users: number;
}

/** Records kept before idle ones are dropped. */
const MAX_RECORDS = 100_000;

/** The failure records of the levels of every source seen. */
export class LevelRecords {
  #levels = new Map<string, Level>();
  #forget: number;

  /** Records whose failures are forgotten `forgetAfterMs` after the last. */
  constructor(forgetAfterMs: number) {
    this.#forget = forgetAfterMs;
  }

  /** The record of `key`, created if need be; counts one more user. */
  use(key: string, free: number, now: number): Level {
    let level = this.#levels.get(key);
    if (level === undefined) {
      if (this.#levels.size >= MAX_RECORDS) this.#forgetIdle(now);
      level = newLevel(key, free);
      this.#levels.set(key, level);
    }
    this.refresh(level, now);
    level.users++;
    return level;
  }

  /** Forgets the failures of `level` if its last one is old enough. */
  refresh(level: Level, now: number): void {
    if (level.failures > 0 && now - level.lastFailure > this.#forget) {
      level.failures = 0;
    }
  }

  /** One user fewer at each of `levels`; drops records with nothing left. */
  release(levels: Level[]): void {
    for (const level of levels) {
      level.users--;
      if (level.users === 0 && level.failures === 0) {
        this.#levels.delete(level.key);
      }
    }
  }

  #forgetIdle(now: number): void {
    for (const [key, level] of this.#levels) {
      if (level.users === 0 && now - level.lastFailure > this.#forget) {
        this.#levels.delete(key);
      }
    }
    // Still full: the oldest idle records go, giving those sources a fresh
    // start rather than letting memory grow without bound.
    for (const [key, level] of this.#levels) {
      if (this.#levels.size < MAX_RECORDS * 0.9) break;
      if (level.users === 0) this.#levels.delete(key);
    }
  }
}

/** The server's failures of the last hour, counted per minute. */
export class HourOfFailures {
  #minutes = new Map<number, number>();

  /** Counts one failure at `at`. */
  add(at: number): void {
    const minute = Math.floor(at / 60_000);
    this.#minutes.set(minute, (this.#minutes.get(minute) ?? 0) + 1);
  }

  /** Failures in the hour before `now`; older minutes are dropped. */
  count(now: number): number {
    const minute = Math.floor(now / 60_000);
    let count = 0;
    for (const [at, failures] of this.#minutes) {
      if (at <= minute - 60) this.#minutes.delete(at);
      else count += failures;
    }
    return count;
  }
}

/** A record with no failure and no user yet. */
export function newLevel(key: string, free: number): Level {
  return {
    key,
    free,
    failures: 0,
    lastFailure: 0,
    running: 0,
    waiting: 0,
    users: 0,
  };
}
