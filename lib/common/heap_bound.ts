/**
 * A bound on the JavaScript heap of a long session. V8 sizes its heap for
 * throughput: under a steady stream of objects that outlive a collection or
 * two, as a receiver of 100,000 small files makes, it grows the young
 * generation to 32-64 MiB (its two halves together) and lets the old one
 * reach about three times what is live before it collects, so that
 * receiver peaked at 170-204 MiB of RSS with 18 MiB of live objects. The
 * flags that cap both are read only from the command line (`--v8-flags`),
 * which `deno run -A server.ts` does not give; so the process watches its
 * own heap and asks for a full collection, which also shrinks the young
 * generation again, once the heap outgrows what was live by a margin. The
 * collections never take more than a small share of the time.
 *
 * @module
 */

/** The part of node:v8 the bound uses, loaded only once it starts. */
type V8 = typeof import("node:v8");

const MiB = 1024 * 1024;

/** How the bound behaves; every field has a default. */
export interface HeapBoundOptions {
  /** Growth of the old generation beyond what was live that is let be. */
  oldHeadroomBytes?: number;
  /**
   * Size of the young generation, its two halves together, beyond which it
   * is shrunk again.
   */
  youngLimitBytes?: number;
  /** The most of the elapsed time collections may take: above 0, at most 1. */
  maxTimeShare?: number;
}

/** The heap figures one decision needs, in bytes. */
export interface HeapFigures {
  /** Space the young generation holds, in use or not, both halves. */
  youngBytes: number;
  /** Bytes in use in the old generation, large objects included. */
  oldBytes: number;
}

/**
 * When to collect: once the old generation has grown by the headroom (or a
 * quarter of what was live, if more) since the last collection, or the
 * young generation beyond its limit; and only when the collections so far,
 * each with the quiet time it buys, keep within the time share.
 */
export class HeapPolicy {
  readonly #oldHeadroom: number;
  readonly #youngLimit: number;
  readonly #maxTimeShare: number;
  #liveBytes: number;
  #notBefore = -Infinity;

  /** A policy for a heap whose old generation holds `oldBytes` now. */
  constructor(oldBytes: number, options: HeapBoundOptions = {}) {
    this.#oldHeadroom = options.oldHeadroomBytes ?? 8 * MiB;
    this.#youngLimit = options.youngLimitBytes ?? 16 * MiB;
    this.#maxTimeShare = options.maxTimeShare ?? 0.05;
    if (!(this.#maxTimeShare > 0 && this.#maxTimeShare <= 1)) {
      throw new RangeError(
        `The time share of collections must be above 0 and at most 1, not ${this.#maxTimeShare}`,
      );
    }
    this.#liveBytes = oldBytes;
  }

  /** Whether to collect at `now` (milliseconds), with the heap at `heap`. */
  due(now: number, heap: HeapFigures): boolean {
    // What the old generation holds bounds what is live in it: after V8's
    // own collections, or once a large session has ended, the line follows
    // it down instead of staying at an old peak for good.
    this.#liveBytes = Math.min(this.#liveBytes, heap.oldBytes);
    if (now < this.#notBefore) return false;
    const headroom = Math.max(this.#oldHeadroom, this.#liveBytes / 4);
    return heap.oldBytes > this.#liveBytes + headroom ||
      heap.youngBytes > this.#youngLimit;
  }

  /**
   * Notes a collection that ended at `now` after `pauseMs`, leaving
   * `oldBytes` in the old generation.
   */
  collected(now: number, pauseMs: number, oldBytes: number): void {
    this.#liveBytes = oldBytes;
    this.#notBefore = now + pauseMs * (1 / this.#maxTimeShare - 1);
  }
}

/** How often the heap is looked at, in milliseconds. */
export const CHECK_INTERVAL_MS = 200;

/** The heap's figures now. */
function heapFigures(v8: V8): HeapFigures {
  let youngBytes = 0;
  let oldBytes = 0;
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_name === "new_space") youngBytes = space.space_size;
    if (
      space.space_name === "old_space" ||
      space.space_name === "large_object_space"
    ) oldBytes += space.space_used_size;
  }
  return { youngBytes, oldBytes };
}

/**
 * V8's full collection, from a context made while `--expose-gc` was set
 * for a moment; null where the runtime does not allow it.
 */
async function fullCollection(v8: V8): Promise<(() => void) | null> {
  // Run with --v8-flags=--expose-gc: there already, and no flag to touch.
  const exposed: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === "function") return () => exposed();
  try {
    const vm = await import("node:vm");
    v8.setFlagsFromString("--expose-gc");
    const collect: unknown = vm.runInNewContext("gc");
    return typeof collect === "function" ? () => collect() : null;
  } catch {
    return null;
  } finally {
    try {
      v8.setFlagsFromString("--no-expose-gc");
    } catch {
      // The flag could not be set either: nothing to undo.
    }
  }
}

/** A running bound on this process's heap. */
export class HeapBound {
  readonly #collect: () => void;
  readonly #v8: V8;
  readonly #policy: HeapPolicy;
  readonly #timer: ReturnType<typeof setInterval>;
  #collections = 0;

  /** Use {@link boundHeap}. */
  constructor(collect: () => void, v8: V8, options: HeapBoundOptions) {
    this.#collect = collect;
    this.#v8 = v8;
    this.#policy = new HeapPolicy(this.figures().oldBytes, options);
    this.#timer = setInterval(() => {
      try {
        this.check();
      } catch {
        // The bound only saves memory: a runtime whose heap figures or
        // collections fail goes on without it rather than stop a transfer.
        this.stop();
      }
    }, CHECK_INTERVAL_MS);
    Deno.unrefTimer(this.#timer);
  }

  /** The heap's figures now. */
  figures(): HeapFigures {
    return heapFigures(this.#v8);
  }

  /** Full collections it asked for. */
  get collections(): number {
    return this.#collections;
  }

  /**
   * Collects now if the policy says so, as the watch does every
   * {@link CHECK_INTERVAL_MS}; returns whether it collected.
   */
  check(): boolean {
    if (!this.#policy.due(performance.now(), this.figures())) return false;
    const start = performance.now();
    this.#collect();
    const end = performance.now();
    this.#collections++;
    this.#policy.collected(end, end - start, this.figures().oldBytes);
    return true;
  }

  /** Stops watching the heap. */
  stop(): void {
    clearInterval(this.#timer);
  }
}

/**
 * Starts bounding this process's heap, as the module says; null where the
 * runtime gives no way to ask for a collection. The watch never keeps the
 * process alive.
 */
export async function boundHeap(
  options: HeapBoundOptions = {},
): Promise<HeapBound | null> {
  const v8 = await import("node:v8");
  const collect = await fullCollection(v8);
  return collect === null ? null : new HeapBound(collect, v8, options);
}

/**
 * Starts the bound after `delayMs`, never keeping the process alive for
 * it: a run shorter than that, such as a client with little to send or a
 * `--help`, pays nothing for loading node:v8 and node:vm (about 3 ms of
 * each start).
 */
export function boundHeapSoon(
  delayMs = 200,
  options: HeapBoundOptions = {},
): void {
  Deno.unrefTimer(
    setTimeout(() => boundHeap(options).catch(() => null), delayMs),
  );
}
