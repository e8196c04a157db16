/**
 * A server-wide budget for what sessions hold in memory before their data
 * flows: manifest entries, their decisions and the checks on them. Without
 * it, a few clients with million-entry manifests could take the server's
 * memory and end every session at once.
 *
 * Each session's first quarter mebibyte is always granted; its next part
 * comes from a pool kept for small sessions, so that large ones never stop
 * an ordinary transfer. What a session needs beyond that comes from the
 * main pool, one growing session at a time: were many to grow at once,
 * they could fill the pool between them with none complete, and all be
 * refused.
 *
 * @module
 */

/**
 * Bytes of each session granted whatever the budget holds: a transfer of
 * a few hundred files never waits, and the connection limit bounds what
 * all of these can take together.
 */
export const TINY_SESSION_BYTES: number = 256 * 1024;

/** Bytes of each session that come from the pool for small sessions. */
export const SMALL_SESSION_BYTES: number = 4 * 1024 * 1024;

/** The share of the budget kept for small sessions. */
const SMALL_POOL_SHARE = 1 / 8;

/** Estimated bytes held per manifest entry, besides its share of the JSON. */
export const BYTES_PER_ENTRY = 176;

/**
 * Estimated bytes held for a manifest part of `payloadBytes` of JSON with
 * `entries` entries: the entries as kept, their checks, decisions and
 * claims, as measured for Deno 2.9.6 (tests/entry_memory.ts): a path costs
 * about a byte per byte of JSON, and the rest of an entry 90 bytes, 128
 * where the file system ignores case, with 37 more for the checks while
 * the manifest arrives.
 */
export function estimateManifestBytes(
  payloadBytes: number,
  entries: number,
): number {
  return payloadBytes + entries * BYTES_PER_ENTRY;
}

/** One session's share of a {@link MemoryBudget}. */
export interface Reservation {
  /** Bytes held. */
  readonly bytes: number;
  /** The most one share can ever hold. */
  readonly limit: number;
  /**
   * Grows the share by `bytes`, waiting up to `waitMs` for its turn and
   * for room; resolves to false when there was none in time (the share
   * is then unchanged).
   */
  grow(bytes: number, waitMs: number): Promise<boolean>;
  /** Says the share will not grow again: the next session may grow. */
  settle(): void;
  /** Gives everything back. */
  release(): void;
}

/** A share waiting in a queue, and how to let it go on. */
interface Waiter {
  me: object;
  grant: () => void;
}

/**
 * Queues `me` in `queue` until its `grant` is called, or `ms` pass;
 * resolves to whether it was granted.
 */
function waitIn(queue: Waiter[], me: object, ms: number): Promise<boolean> {
  const granted = Promise.withResolvers<boolean>();
  const waiter = { me, grant: () => granted.resolve(true) };
  queue.push(waiter);
  const timer = setTimeout(() => {
    const at = queue.indexOf(waiter);
    if (at !== -1) queue.splice(at, 1);
    granted.resolve(false);
  }, ms);
  return granted.promise.finally(() => clearTimeout(timer));
}

/** What all sessions of a server may hold at once. */
export class MemoryBudget {
  /** The whole budget, in bytes. */
  readonly total: number;
  #smallFree: number;
  #mainFree: number;
  #mainSize: number;
  /** The share allowed to take from the main pool now, if any. */
  #grower: object | null = null;
  /** Shares waiting for their turn to grow. */
  #turns: Waiter[] = [];
  /** The grower, when it waits for room. */
  #room: Waiter[] = [];

  /** A budget of `totalBytes`, an eighth of it for small sessions. */
  constructor(totalBytes: number) {
    this.total = totalBytes;
    this.#smallFree = Math.floor(totalBytes * SMALL_POOL_SHARE);
    this.#mainSize = totalBytes - this.#smallFree;
    this.#mainFree = this.#mainSize;
  }

  /** Bytes of the main pool not held by anyone. */
  get mainFree(): number {
    return this.#mainFree;
  }

  /** A new, empty share. */
  reserve(): Reservation {
    const me = {};
    let tiny = 0;
    let small = 0;
    let main = 0;
    let released = false;
    const settle = () => {
      if (this.#grower === me) this.#passTurn();
    };
    return {
      get bytes() {
        return tiny + small + main;
      },
      limit: TINY_SESSION_BYTES + SMALL_SESSION_BYTES + this.#mainSize,
      grow: async (wanted, waitMs) => {
        if (released) throw new Error("Reservation used after its release");
        const fromTiny = Math.min(wanted, TINY_SESSION_BYTES - tiny);
        const fromSmall = Math.min(
          wanted - fromTiny,
          SMALL_SESSION_BYTES - small,
          this.#smallFree,
        );
        const fromMain = wanted - fromTiny - fromSmall;
        // Taken at once, so that no one else takes it during the wait.
        tiny += fromTiny;
        small += fromSmall;
        this.#smallFree -= fromSmall;
        if (fromMain > 0 && !(await this.#takeMain(me, fromMain, waitMs))) {
          tiny -= fromTiny;
          small -= fromSmall;
          this.#smallFree += fromSmall;
          return false;
        }
        if (released) {
          // Given back while it waited: what it took goes back too.
          this.#mainFree += fromMain;
          return false;
        }
        main += fromMain;
        return true;
      },
      settle,
      release: () => {
        if (released) return;
        released = true;
        settle();
        this.#smallFree += small;
        this.#mainFree += main;
        tiny = small = main = 0;
        this.#room.shift()?.grant();
      },
    };
  }

  async #takeMain(me: object, bytes: number, waitMs: number): Promise<boolean> {
    if (bytes > this.#mainSize) return false;
    const deadline = Date.now() + waitMs;
    if (this.#grower === null) this.#grower = me;
    // The turn is handed over with the grant, so that no one slips in.
    if (this.#grower !== me && !(await waitIn(this.#turns, me, waitMs))) {
      return false;
    }
    while (bytes > this.#mainFree) {
      const left = deadline - Date.now();
      if (left <= 0 || !(await waitIn(this.#room, me, left))) {
        // Its turn passes on: it is about to be refused.
        this.#passTurn();
        return false;
      }
    }
    this.#mainFree -= bytes;
    return true;
  }

  /** Lets the next share in line grow. */
  #passTurn(): void {
    const next = this.#turns.shift();
    this.#grower = next?.me ?? null;
    next?.grant();
  }
}
