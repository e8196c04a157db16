/**
 * A server-wide budget for what sessions hold in memory before their data
 * flows: manifest entries, their decisions and the checks on them. Without
 * it, a few clients with million-entry manifests could take the server's
 * memory and end every session at once.
 *
 * Each session's first part comes from a pool kept for small sessions, so
 * that large ones never stop an ordinary transfer; what a session needs
 * beyond that comes from the main pool, first come, first served, waiting
 * a while for room if there is none.
 *
 * @module
 */

/** Bytes of each session that come from the pool for small sessions. */
export const SMALL_SESSION_BYTES: number = 4 * 1024 * 1024;

/** The share of the budget kept for small sessions. */
const SMALL_POOL_SHARE = 1 / 8;

/** Estimated bytes held per manifest entry, whatever its path. */
export const BYTES_PER_ENTRY = 256;

/**
 * Estimated bytes held for a manifest part of `payloadBytes` of JSON with
 * `entries` entries: the parsed entries, their checks, decisions and
 * claims, as measured for Deno 2.9.6.
 */
export function estimateManifestBytes(
  payloadBytes: number,
  entries: number,
): number {
  return Math.ceil(payloadBytes * 1.5) + entries * BYTES_PER_ENTRY;
}

/** One session's share of a {@link MemoryBudget}. */
export interface Reservation {
  /** Bytes held. */
  readonly bytes: number;
  /**
   * Grows the share by `bytes`, waiting up to `waitMs` for room; resolves
   * to false when there was none in time (the share is unchanged).
   */
  grow(bytes: number, waitMs: number): Promise<boolean>;
  /** Gives everything back. */
  release(): void;
}

interface Waiter {
  bytes: number;
  resolve: (granted: boolean) => void;
}

/** What all sessions of a server may hold at once. */
export class MemoryBudget {
  /** The whole budget, in bytes. */
  readonly total: number;
  #smallFree: number;
  #mainFree: number;
  #waiting: Waiter[] = [];

  /** A budget of `totalBytes`, an eighth of it for small sessions. */
  constructor(totalBytes: number) {
    this.total = totalBytes;
    this.#smallFree = Math.floor(totalBytes * SMALL_POOL_SHARE);
    this.#mainFree = totalBytes - this.#smallFree;
  }

  /** Bytes of the main pool not held by anyone. */
  get mainFree(): number {
    return this.#mainFree;
  }

  /** A new, empty share. */
  reserve(): Reservation {
    let small = 0;
    let main = 0;
    let released = false;
    return {
      get bytes() {
        return small + main;
      },
      grow: async (bytes, waitMs) => {
        if (released) throw new Error("Reservation used after its release");
        const fromSmall = Math.min(
          bytes,
          SMALL_SESSION_BYTES - small,
          this.#smallFree,
        );
        const fromMain = bytes - fromSmall;
        // Taken at once, so that no one else takes it during the wait.
        this.#smallFree -= fromSmall;
        small += fromSmall;
        if (fromMain > 0 && !(await this.#takeMain(fromMain, waitMs))) {
          this.#smallFree += fromSmall;
          small -= fromSmall;
          return false;
        }
        main += fromMain;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#smallFree += small;
        this.#mainFree += main;
        small = main = 0;
        this.#wake();
      },
    };
  }

  async #takeMain(bytes: number, waitMs: number): Promise<boolean> {
    if (bytes > this.total - Math.floor(this.total * SMALL_POOL_SHARE)) {
      return false;
    }
    if (this.#waiting.length === 0 && bytes <= this.#mainFree) {
      this.#mainFree -= bytes;
      return true;
    }
    const granted = Promise.withResolvers<boolean>();
    const waiter = { bytes, resolve: granted.resolve };
    this.#waiting.push(waiter);
    const timer = setTimeout(() => {
      this.#waiting = this.#waiting.filter((other) => other !== waiter);
      granted.resolve(false);
      this.#wake();
    }, waitMs);
    try {
      return await granted.promise;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Grants waiting requests in arrival order while there is room. */
  #wake(): void {
    while (
      this.#waiting.length > 0 && this.#waiting[0].bytes <= this.#mainFree
    ) {
      const waiter = this.#waiting.shift()!;
      this.#mainFree -= waiter.bytes;
      waiter.resolve(true);
    }
  }
}
