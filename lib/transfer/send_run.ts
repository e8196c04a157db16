/**
 * One run of the client: its entries, what became of each across the
 * attempts of the run, and its progress.
 *
 * @module
 */

import { type EventSink, ProgressCounter } from "./events.ts";
import type { LocalEntries } from "../store/scan.ts";
import type { IfDifferent } from "../protocol/messages.ts";
import type { CompressMode } from "./compression.ts";

/** What became of an entry. */
export type Outcome = "verified" | "skipped" | "different" | "failed";

/** Totals of one session, from the client's point of view. */
export interface SendResult {
  /** Files the server confirmed by hash after receiving them. */
  verified: number;
  /** Files the server already had with the same hash. */
  skipped: number;
  /**
   * Files left out because the other side has a different file of that
   * name, which stays (`--skip-existing`); none when left out.
   */
  different?: number;
  /** Files and folders that were refused or failed. */
  failed: number;
  /** File bytes sent. */
  bytes: number;
  /** The paths of the files and folders that failed, as they failed. */
  failedPaths: string[];
  /** The paths of the files left out as {@link different}. */
  differentPaths?: string[];
  /** Files in the transfer, when the run learned it from the manifest. */
  files?: number;
  /**
   * Bytes those took on the wire: the payloads of their data frames,
   * compressed or not (frame and record overhead not counted).
   */
  wireBytes?: number;
}

/** What became of an entry, as stored in {@link SendRun}'s array. */
const VERIFIED = 1;
const SKIPPED = 2;
const FAILED = 3;
const DIFFERENT = 4;
/** The bits of a stored outcome that say which. */
const OUTCOME = 7;
/** Set once the entry's hash is among the confirmed ones. */
const CONFIRMED = 8;

/** The names of the stored outcomes. */
const OUTCOMES = [
  undefined,
  "verified",
  "skipped",
  "failed",
  "different",
] as const;

/** Bytes of a SHA-256. */
const HASH_BYTES = 32;

/**
 * One run of the client over its entries, across reconnections. It counts
 * what became of each entry from the events it passes on, and remembers
 * the hashes the server confirmed, so that a new attempt neither reads
 * confirmed files again nor counts them twice. All of it is kept in arrays
 * by entry index: a hundred thousand files take 3.3 MB, where maps of
 * paths and hex strings took 30.
 */
export class SendRun {
  /** The entries, as scanned. */
  readonly entries: LocalEntries;
  /** What this side wants for a different file of the same name there. */
  readonly ifDifferent: IfDifferent | undefined;
  /** Whether the records of the files go compressed. */
  readonly compress: CompressMode;
  #sink: EventSink;
  /** Outcome of each entry (0 while it has none), with the CONFIRMED bit. */
  #outcomes: Uint8Array;
  /**
   * The SHA-256 of each file as last sent, made at the first: the
   * confirmed one where the CONFIRMED bit is set.
   */
  #hashes: Uint8Array | null = null;
  #settled = 0;
  #bytes = 0;
  #wireBytes = 0;
  #progress: ProgressCounter;

  /**
   * A run over `entries` that reports to `sink`, asking the receiver for
   * `ifDifferent` when a different file has an entry's name there, and
   * compressing as `compress` says.
   */
  constructor(
    entries: LocalEntries,
    sink: EventSink,
    ifDifferent?: IfDifferent,
    compress: CompressMode = "auto",
  ) {
    this.entries = entries;
    this.ifDifferent = ifDifferent;
    this.compress = compress;
    this.#sink = sink;
    this.#progress = new ProgressCounter(entries, sink);
    this.#outcomes = new Uint8Array(entries.length);
  }

  /** Grows whenever an attempt gets anywhere: bytes sent, files settled. */
  get progress(): number {
    return this.#bytes + this.#settled;
  }

  /** Counts `count` more file bytes sent, as `wire` bytes of payload. */
  addBytes(count: number, wire: number = count): void {
    this.#bytes += count;
    this.#wireBytes += wire;
    this.#progress.add(count);
  }

  /**
   * The hash the server confirmed for entry `index` earlier in this run,
   * if the file still looks the same.
   */
  async confirmedHash(index: number): Promise<string | undefined> {
    if ((this.#outcomes[index] & CONFIRMED) === 0) return undefined;
    const sha256 = this.sentHash(index);
    const entry = this.entries.local(index);
    const info = await Deno.stat(entry.source).catch(() => null);
    const same = info !== null && info.size === entry.size &&
      Math.trunc(info.mtime?.getTime() ?? NaN) === entry.mtime;
    return same ? sha256 : undefined;
  }

  /**
   * Notes that file `index` was sent whole, hashing to `sha256`: what the
   * server must confirm, no longer what it confirmed before.
   */
  noteSent(index: number, sha256: string): void {
    this.#outcomes[index] &= ~CONFIRMED;
    this.#setHash(index, sha256);
  }

  /** The hash of file `index` as last sent or confirmed. */
  sentHash(index: number): string {
    const at = index * HASH_BYTES;
    return this.#hashes!.subarray(at, at + HASH_BYTES).toHex();
  }

  /**
   * Records what an event about entry `index` says of it and passes it
   * on; events without an index pass as they are.
   */
  readonly emit: EventSink = (event, index) => {
    if (index !== undefined && index >= 0 && index < this.entries.length) {
      if (event.type === "file-start") {
        this.#progress.start(index, event.path, event.offset);
      } else if (event.type === "file-verified") {
        this.#confirm(index, event.sha256);
        this.#settle(index, VERIFIED);
      } else if (event.type === "file-skipped") {
        // Sent by an earlier attempt of this run: already reported.
        if ((this.#outcomes[index] & OUTCOME) === VERIFIED) return;
        this.#settle(index, event.reason === "different" ? DIFFERENT : SKIPPED);
      } else if (event.type === "file-failed") {
        this.#settle(index, FAILED);
      }
    }
    this.#sink(event, index);
  };

  /** Entries the server could not take yet, with its reason, by index. */
  readonly deferred = new Map<number, string>();

  /** Leaves entry `index` for a later attempt, for `reason`. */
  defer(index: number, reason: string): void {
    this.deferred.set(index, reason);
  }

  /**
   * Reports every entry still deferred as failed, when no retry is left;
   * `refuser` is the side that deferred them.
   */
  failDeferred(refuser: "server" | "client" = "server"): void {
    // A server held them for longer than a lost connection of this client
    // would be held: another run is the way out.
    const wayOut = refuser === "server"
      ? "; run the same command again once that transfer ended"
      : "";
    for (const [index, reason] of this.deferred) {
      this.emit({
        type: "file-failed",
        path: this.entries.path(index),
        message: `refused by the ${refuser}: ${reason}${wayOut}`,
      }, index);
    }
    this.deferred.clear();
  }

  /** The totals of the run, each entry counted once, as it ended. */
  result(): SendResult {
    return totalsOf(this.#settledOutcomes(), this.#bytes, this.#wireBytes);
  }

  *#settledOutcomes(): IterableIterator<[string, Outcome]> {
    for (const [index, stored] of this.#outcomes.entries()) {
      const outcome = OUTCOMES[stored & OUTCOME];
      if (outcome !== undefined) yield [this.entries.path(index), outcome];
    }
  }

  #confirm(index: number, sha256: string): void {
    this.#setHash(index, sha256);
    this.#outcomes[index] |= CONFIRMED;
  }

  #setHash(index: number, sha256: string): void {
    this.#hashes ??= new Uint8Array(this.entries.length * HASH_BYTES);
    const at = index * HASH_BYTES;
    this.#hashes.subarray(at, at + HASH_BYTES).setFromHex(sha256);
  }

  #settle(index: number, outcome: number): void {
    this.#progress.settle(index);
    this.#outcomes[index] = (this.#outcomes[index] & CONFIRMED) | outcome;
    this.#settled++;
  }
}

/**
 * The totals of a run from what became of each path, each counted once,
 * with the `bytes` it moved and the `wireBytes` they took.
 */
export function totalsOf(
  outcomes: Iterable<readonly [string, Outcome]>,
  bytes: number,
  wireBytes: number = bytes,
): SendResult {
  const totals = { verified: 0, skipped: 0, different: 0, failed: 0 };
  const failedPaths: string[] = [];
  const differentPaths: string[] = [];
  for (const [path, outcome] of outcomes) {
    totals[outcome]++;
    if (outcome === "failed") failedPaths.push(path);
    if (outcome === "different") differentPaths.push(path);
  }
  return { ...totals, bytes, wireBytes, failedPaths, differentPaths };
}
