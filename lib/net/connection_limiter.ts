/**
 * Keeps one source of connections from taking the server for itself. Each
 * new connection is checked, in this order, against the rate of new
 * connections from its source (a token bucket at each level of the source,
 * see `sourceKeys`), against the unauthenticated connections its source
 * already holds, and against the server's limit of open connections. When
 * the server is full, a newcomer from a source that holds fewer
 * unauthenticated connections than the heaviest one takes the place of
 * that source's oldest unauthenticated connection.
 *
 * @module
 */

import { sourceKeys } from "./sources.ts";

/** New connections one level of a source may open in a burst. */
export const CONNECTION_BURST: readonly number[] = [64, 128, 256];

/** New connections a second one level of a source may open after that. */
export const CONNECTIONS_PER_SECOND: readonly number[] = [16, 32, 64];

/**
 * Unauthenticated connections one level of a source may hold at once:
 * address or /64, /56, /48.
 */
export const UNAUTHENTICATED_PER_SOURCE: readonly number[] = [16, 32, 64];

/** Tuning of {@link ConnectionLimiter}. */
export interface ConnectionLimiterOptions {
  /** Connections open at once, authenticated or not. */
  maxConnections: number;
  /** See {@link UNAUTHENTICATED_PER_SOURCE}. */
  unauthenticated?: readonly number[];
  /** See {@link CONNECTION_BURST}. */
  burst?: readonly number[];
  /** See {@link CONNECTIONS_PER_SECOND}. */
  perSecond?: readonly number[];
  /** The clock, in milliseconds. */
  now?: () => number;
}

/** An admitted connection's place, to be given back. */
export interface Ticket {
  /** The connection finished its key exchange: it no longer counts as unauthenticated. */
  authenticated(): void;
  /** The connection ended. */
  closed(): void;
}

/** What becomes of a new connection. */
export type Admission<T> =
  | {
    admitted: true;
    ticket: Ticket;
    /** A connection that must be closed to make room, its source and why. */
    evicted?: { item: T; key: string; message: string };
  }
  | {
    admitted: false;
    /**
     * Whether to send the busy hello: not when the source connects too
     * fast, which is answered by closing at once.
     */
    busy: boolean;
    /** The rule that refused it and the source key it applied to. */
    rule: "rate" | "source" | "full";
    key: string;
    message: string;
  };

interface Entry<T> {
  item: T;
  keys: string[];
  unauthenticated: boolean;
  gone: boolean;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept before full ones are dropped. */
const MAX_BUCKETS = 50_000;

/** Counts connections per source and decides on new ones. */
export class ConnectionLimiter<T> {
  #max: number;
  #caps: readonly number[];
  #burst: readonly number[];
  #rate: readonly number[];
  #now: () => number;
  #open = 0;
  #buckets = new Map<string, Bucket>();
  /** Unauthenticated connections per source key, at every level. */
  #counts = new Map<string, number>();
  /** Unauthenticated connections per coarsest key, oldest first. */
  #groups = new Map<string, Set<Entry<T>>>();

  /** A limiter with the given tuning; see the constants for defaults. */
  constructor(options: ConnectionLimiterOptions) {
    this.#max = Math.max(1, options.maxConnections);
    this.#caps = options.unauthenticated ?? UNAUTHENTICATED_PER_SOURCE;
    this.#burst = options.burst ?? CONNECTION_BURST;
    this.#rate = options.perSecond ?? CONNECTIONS_PER_SECOND;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Connections open now. */
  get open(): number {
    return this.#open;
  }

  /** Unauthenticated connections that `key` holds now. */
  unauthenticated(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  /** Decides on a new connection from `address`; `item` names it. */
  admit(address: string, item: T): Admission<T> {
    const keys = sourceKeys(address);
    const now = this.#now();
    const buckets = keys.map((key, level) => this.#bucket(key, level, now));
    const empty = buckets.findIndex((bucket) => bucket.tokens < 1);
    if (empty !== -1) {
      return {
        admitted: false,
        busy: false,
        rule: "rate",
        key: keys[empty],
        message: `turned away: more than ${
          this.#rate[empty] ?? this.#rate.at(-1)
        } new connections a second from ${keys[empty]}`,
      };
    }
    for (const [level, key] of keys.entries()) {
      const held = this.unauthenticated(key);
      if (held >= (this.#caps[level] ?? this.#caps.at(-1)!)) {
        return {
          admitted: false,
          busy: true,
          rule: "source",
          key,
          message:
            `turned away: ${held} unauthenticated connections from ${key} are open`,
        };
      }
    }
    let evicted: { item: T; key: string; message: string } | undefined;
    if (this.#open >= this.#max) {
      const victim = this.#victim(keys.at(-1)!);
      if (victim === undefined) {
        return {
          admitted: false,
          busy: true,
          rule: "full",
          key: keys[0],
          message:
            `turned away: ${this.#open} connections are open (--max-connections)`,
        };
      }
      const group = victim.keys.at(-1)!;
      const held = this.#groups.get(group)!.size;
      this.#remove(victim);
      evicted = {
        item: victim.item,
        key: group,
        message:
          `closed to make room for another address: the server is full and ${group} holds ${held} unauthenticated connections`,
      };
    }
    // Only an admitted connection takes a token: a busy hello asks the
    // client to come back, and its return must not find the bucket empty
    // (50 clients behind one address came back to be cut off). A source
    // that floods is still closed at once when its admitted ones have
    // used the bucket up.
    for (const bucket of buckets) bucket.tokens--;
    const entry: Entry<T> = { item, keys, unauthenticated: true, gone: false };
    this.#open++;
    for (const key of keys) {
      this.#counts.set(key, this.unauthenticated(key) + 1);
    }
    const group = keys.at(-1)!;
    let members = this.#groups.get(group);
    if (members === undefined) this.#groups.set(group, members = new Set());
    members.add(entry);
    return {
      admitted: true,
      evicted,
      ticket: {
        authenticated: () => this.#authenticated(entry),
        closed: () => this.#remove(entry),
      },
    };
  }

  /**
   * The oldest unauthenticated connection of the source that holds the
   * most, if it holds at least two more than the newcomer's `group`:
   * moving one place then makes the sources more even, never less.
   */
  #victim(group: string): Entry<T> | undefined {
    const own = this.#groups.get(group)?.size ?? 0;
    let heaviest: Set<Entry<T>> | undefined;
    for (const members of this.#groups.values()) {
      if (members.size > (heaviest?.size ?? 0)) heaviest = members;
    }
    if (heaviest === undefined || heaviest.size < own + 2) return undefined;
    return heaviest.values().next().value;
  }

  #authenticated(entry: Entry<T>): void {
    if (!entry.unauthenticated || entry.gone) return;
    entry.unauthenticated = false;
    for (const key of entry.keys) {
      const count = this.unauthenticated(key) - 1;
      if (count > 0) this.#counts.set(key, count);
      else this.#counts.delete(key);
    }
    const group = entry.keys.at(-1)!;
    const members = this.#groups.get(group)!;
    members.delete(entry);
    if (members.size === 0) this.#groups.delete(group);
  }

  #remove(entry: Entry<T>): void {
    if (entry.gone) return;
    this.#authenticated(entry);
    entry.gone = true;
    this.#open--;
  }

  /** The bucket of `key` at `level`, refilled up to `now`. */
  #bucket(key: string, level: number, now: number): Bucket {
    const burst = this.#burst[level] ?? this.#burst.at(-1)!;
    const rate = this.#rate[level] ?? this.#rate.at(-1)!;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= MAX_BUCKETS) this.#sweep(now);
      bucket = { tokens: burst, at: now };
      this.#buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(
      burst,
      bucket.tokens + (now - bucket.at) * rate / 1000,
    );
    bucket.at = now;
    return bucket;
  }

  /** Drops buckets that would be full by now, then the oldest if need be. */
  #sweep(now: number): void {
    const slowest = Math.min(...this.#rate);
    const longest = Math.max(...this.#burst) / slowest * 1000;
    for (const [key, bucket] of this.#buckets) {
      if (now - bucket.at >= longest) this.#buckets.delete(key);
    }
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size < MAX_BUCKETS * 0.9) break;
      this.#buckets.delete(key);
    }
  }
}

/**
 * Lets one log line through per key and interval, and counts the ones it
 * held back, so that a flood of refusals cannot flood the log.
 */
export class LogThrottle {
  #intervalMs: number;
  #now: () => number;
  #last = new Map<string, { at: number; held: number }>();

  /** One line per key every `intervalMs` milliseconds. */
  constructor(
    intervalMs = 10_000,
    now: () => number = () => performance.now(),
  ) {
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /**
   * The line to log for `key` now, with the count of lines held back
   * since the last one, or null to stay quiet.
   */
  line(key: string, message: string): string | null {
    const now = this.#now();
    const last = this.#last.get(key);
    if (last !== undefined && now - last.at < this.#intervalMs) {
      last.held++;
      return null;
    }
    if (this.#last.size >= 10_000) {
      for (const [other, entry] of this.#last) {
        if (now - entry.at >= this.#intervalMs) this.#last.delete(other);
      }
      // Still full: the oldest go, and may log again early.
      for (const other of this.#last.keys()) {
        if (this.#last.size < 9_000) break;
        this.#last.delete(other);
      }
    }
    this.#last.set(key, { at: now, held: 0 });
    const held = last?.held ?? 0;
    return held === 0
      ? message
      : `${message} (and ${held} more like it since the last such line)`;
  }
}
