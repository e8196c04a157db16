/**
 * The client's bounds on a server that keeps it waiting without getting
 * anywhere, which the idle timeout alone lets through: a deadline for the
 * connection and key exchange (a peer trickling a byte now and then keeps
 * the idle timeout quiet), and a limit on how long it accepts `wait`
 * messages with no real progress.
 *
 * Both follow the client's idle timeout (`--idle-timeout`, 30 s by
 * default): the key exchange must be done within twice that (60 s), far
 * more than a server holding an attempt back in its guess limiter takes
 * (it gives up on a key exchange after 30 s itself); `wait` messages are
 * accepted for the idle timeout plus the time the server could need to
 * hash everything the manifest lists, at a conservative rate.
 *
 * @module
 */

import { ownEnd, type PeerName } from "./peer.ts";

/** The connection and key exchange must be done within this many idle timeouts. */
export const KEY_EXCHANGE_IDLE_TIMEOUTS = 2;

/**
 * The slowest hashing rate assumed of a server, in bytes per second: about
 * a USB 2 disk read by a few sessions at once.
 */
export const SLOWEST_HASHING_RATE = 4 * 1024 * 1024;

/** Time allowed per manifest entry for opening and checking it, in ms. */
export const ENTRY_ALLOWANCE_MS = 5;

/** The deadline for connecting and the key exchange, in milliseconds. */
export function keyExchangeDeadlineMs(idleTimeoutMs: number): number {
  return KEY_EXCHANGE_IDLE_TIMEOUTS * idleTimeoutMs;
}

/**
 * How long `wait` messages in a row are accepted, in milliseconds: the idle
 * timeout, plus the time to hash every listed byte at the slowest rate and
 * an allowance per entry. The server hashes only files that are already
 * there with the listed size and data kept from an interrupted transfer,
 * never more than the manifest's sizes.
 */
export function waitLimitMs(
  entries: { readonly length: number } & Iterable<{ size: number }>,
  idleTimeoutMs: number,
): number {
  let bytes = 0;
  for (const entry of entries) bytes += entry.size;
  return idleTimeoutMs + entries.length * ENTRY_ALLOWANCE_MS +
    (bytes / SLOWEST_HASHING_RATE) * 1000;
}

/** Raised when connecting and the key exchange outlast the deadline. */
export class KeyExchangeTimeoutError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "KeyExchangeTimeoutError";
  }
}

/** Raised when the peer keeps sending `wait` for longer than its limit. */
export class ServerStalledError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "ServerStalledError";
  }
}

/**
 * Resolves as `work` does, unless the time `deadline` (as from
 * `performance.now()`) comes first: then it rejects with `expired()`, and
 * `late` receives what `work` still resolves to, to release it.
 */
export async function beforeDeadline<T>(
  work: Promise<T>,
  deadline: number,
  expired: () => Error,
  late: (value: T) => void = () => {},
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let struck = false;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      struck = true;
      reject(expired());
    }, Math.max(0, deadline - performance.now()));
  });
  try {
    return await Promise.race([work, expiry]);
  } finally {
    clearTimeout(timer);
    work.then((value) => {
      if (struck) late(value);
    }, () => {});
  }
}

/**
 * Counts how long the server has been sending only `wait` messages on one
 * connection. The clock starts with the first `wait` after a real message
 * and stops at the next real message or whenever `progress` (file bytes
 * sent, files settled) moves on.
 */
export class WaitLimit {
  /** The limit, in milliseconds. */
  readonly limitMs: number;
  #progress: () => number;
  #peer: PeerName;
  #since: number | null = null;
  #seen = 0;

  /**
   * A limit of `limitMs`, with `progress` counting real progress, on the
   * `wait` messages of `peer`.
   */
  constructor(
    limitMs: number,
    progress: () => number = () => 0,
    peer: PeerName = "Server",
  ) {
    this.limitMs = limitMs;
    this.#progress = progress;
    this.#peer = peer;
  }

  /** A real message arrived. */
  progressed(): void {
    this.#since = null;
  }

  /**
   * A `wait` arrived while the client waited for `waitingFor`; throws a
   * {@link ServerStalledError} once they have come for too long.
   */
  waited(waitingFor: string): void {
    const now = performance.now();
    const progress = this.#progress();
    if (this.#since === null || progress !== this.#seen) {
      this.#since = now;
      this.#seen = progress;
      return;
    }
    const waitedMs = now - this.#since;
    if (waitedMs <= this.limitMs) return;
    throw new ServerStalledError(
      `${this.#peer} kept saying wait for ${
        Math.round(waitedMs / 1000)
      } s while the ${
        ownEnd(this.#peer)
      } waited for ${waitingFor}, longer than hashing these files can take: it seems stuck, check it and try again`,
    );
  }
}

const limits = new WeakMap<object, WaitLimit>();

/** Applies `limit` to the `wait` messages received on `channel`. */
export function limitWaits(channel: object, limit: WaitLimit): void {
  limits.set(channel, limit);
}

/** The limit applied to `channel`, if any. */
export function waitLimitOf(channel: object): WaitLimit | undefined {
  return limits.get(channel);
}
