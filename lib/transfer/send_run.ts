/**
 * One run of the client: its entries, what became of each across the
 * attempts of the run, and its progress.
 *
 * @module
 */

import { type EventSink, ProgressCounter } from "./events.ts";
import type { LocalEntry } from "../store/scan.ts";
import type { IfDifferent } from "../protocol/messages.ts";

/** What became of an entry. */
export type Outcome = "verified" | "skipped" | "different" | "failed";
import type { CompressMode } from "./compression.ts";

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

/**
 * One run of the client over its entries, across reconnections. It counts
 * what became of each entry from the events it passes on, and remembers
 * the hashes the server confirmed, so that a new attempt neither reads
 * confirmed files again nor counts them twice.
 */
export class SendRun {
  /** The entries, as scanned. */
  readonly entries: readonly LocalEntry[];
  /** What this side wants for a different file of the same name there. */
  readonly ifDifferent: IfDifferent | undefined;
  /** Whether the records of the files go compressed. */
  readonly compress: CompressMode;
  #sink: EventSink;
  #indexes = new Map<string, number>();
  #outcomes = new Map<number, Outcome>();
  #confirmed = new Map<number, string>();
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
    entries: readonly LocalEntry[],
    sink: EventSink,
    ifDifferent?: IfDifferent,
    compress: CompressMode = "auto",
  ) {
    this.entries = entries;
    this.ifDifferent = ifDifferent;
    this.compress = compress;
    this.#sink = sink;
    this.#progress = new ProgressCounter(entries, sink);
    for (const [index, entry] of entries.entries()) {
      this.#indexes.set(entry.path, index);
    }
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
    const sha256 = this.#confirmed.get(index);
    if (sha256 === undefined) return undefined;
    const entry = this.entries[index];
    const info = await Deno.stat(entry.source).catch(() => null);
    const same = info !== null && info.size === entry.size &&
      Math.trunc(info.mtime?.getTime() ?? NaN) === entry.mtime;
    return same ? sha256 : undefined;
  }

  /** Records what an event says of its entry and passes it on. */
  readonly emit: EventSink = (event) => {
    const index = "path" in event ? this.#indexes.get(event.path) : undefined;
    if (index !== undefined) {
      if (event.type === "file-start") {
        this.#progress.start(event.path, event.offset);
      } else if (event.type === "file-verified") {
        this.#confirmed.set(index, event.sha256);
        this.#settle(index, "verified");
      } else if (event.type === "file-skipped") {
        // Sent by an earlier attempt of this run: already reported.
        if (this.#outcomes.get(index) === "verified") return;
        this.#settle(
          index,
          event.reason === "different" ? "different" : "skipped",
        );
      } else if (event.type === "file-failed") {
        this.#settle(index, "failed");
      }
    }
    this.#sink(event);
  };

  /** Entries the server could not take yet, with its reason, by index. */
  readonly deferred = new Map<number, string>();

  /** Leaves entry `index` for a later attempt, for `reason`. */
  defer(index: number, reason: string): void {
    this.deferred.set(index, reason);
  }

  /** Reports every entry still deferred as failed, when no retry is left. */
  failDeferred(): void {
    for (const [index, reason] of this.deferred) {
      this.emit({
        type: "file-failed",
        path: this.entries[index].path,
        message: `refused by the server: ${reason}`,
      });
    }
    this.deferred.clear();
  }

  /** The totals of the run, each entry counted once, as it ended. */
  result(): SendResult {
    return totalsOf(
      [...this.#outcomes].map(([index, outcome]) => [
        this.entries[index].path,
        outcome,
      ]),
      this.#bytes,
      this.#wireBytes,
    );
  }

  #settle(index: number, outcome: Outcome): void {
    this.#progress.settle(this.entries[index].path);
    this.#outcomes.set(index, outcome);
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
