/**
 * Events the transfer layer reports to the command line, for both sides.
 * The command line shows them as text lines and a progress display, or
 * writes them as JSON lines (docs/EVENTS.md).
 *
 * @module
 */

/**
 * Why an entry was not transferred: the receiver has the same bytes, or a
 * different file of that name that stays as it is.
 */
export type SkipKind = "already-there" | "different";

/**
 * Where a transfer stands, reported at most every
 * {@link PROGRESS_INTERVAL_MS} while data moves.
 */
export interface ProgressEvent {
  /** The event type. */
  type: "progress";
  /** The file being transferred. */
  path: string;
  /** Bytes of that file done, from earlier sessions included. */
  fileBytes: number;
  /** Size of that file. */
  fileSize: number;
  /** Bytes of all files done: sent, kept from before, or already there. */
  bytes: number;
  /** Bytes of all files. */
  totalBytes: number;
  /** Files settled so far: confirmed, already there or failed. */
  files: number;
  /** Files in all. */
  totalFiles: number;
  /** Bytes that crossed the network in this run, for the rate. */
  transferred: number;
}

/** Something that happened during a transfer. */
export type TransferEvent =
  | {
    type: "connected";
    /** The other side's address. */
    peer: string;
    /** The client's attempt, from 1; the server leaves it out. */
    attempt?: number;
  }
  | { type: "handshake"; peer: string; tls: boolean }
  | {
    /**
     * A file's bytes are being hashed, before its data flows: to prove
     * what is there (the whole file, or the part kept from an earlier
     * session) or to check such a proof.
     */
    type: "checking";
    path: string;
    /** Bytes hashed. */
    size: number;
    /** Which of the files checked in this session this is, from 1. */
    number: number;
    /** How many files this session checks. */
    count: number;
  }
  | {
    /**
     * The client has waited this long for the server's answer to its key
     * share: the server holds attempts back after wrong codes.
     */
    type: "waiting";
    reason: "guess-limiter";
    peer: string;
    seconds: number;
  }
  | { type: "file-start"; path: string; size: number; offset: number }
  | ProgressEvent
  | {
    type: "file-verified";
    path: string;
    size: number;
    sha256: string;
    /** The name it was saved under, when not its own. */
    savedAs?: string;
  }
  | {
    type: "file-skipped";
    path: string;
    reason: SkipKind;
    sha256?: string;
    /** Already there under this name, not its own. */
    savedAs?: string;
  }
  | { type: "file-failed"; path: string; message: string }
  | { type: "warning"; message: string };

/** Receives events; the command line decides how to show them. */
export type EventSink = (event: TransferEvent) => void;

/** Progress events come at most this often from one run or session. */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * Counts bytes and files of a transfer and reports a {@link ProgressEvent}
 * to `emit` at most every {@link PROGRESS_INTERVAL_MS}.
 */
export class ProgressCounter {
  #emit: EventSink;
  /** Index of each file, for the arrays below. */
  #indexes = new Map<string, number>();
  #sizes: Float64Array;
  #done: Float64Array;
  #settled: Uint8Array;
  #settledCount = 0;
  #bytes = 0;
  #totalBytes = 0;
  #transferred = 0;
  #current = "";
  #currentIndex = -1;
  /** The first report of a run is never held back, however early it comes. */
  #lastReport = -Infinity;

  /** Counts the files among `entries` and reports to `emit`. */
  constructor(
    entries: Iterable<{ path: string; kind: string; size: number }>,
    emit: EventSink,
  ) {
    this.#emit = emit;
    const sizes: number[] = [];
    for (const { path, kind, size } of entries) {
      if (kind !== "file") continue;
      this.#indexes.set(path, sizes.length);
      sizes.push(size);
      this.#totalBytes += size;
    }
    // Arrays of numbers rather than maps: a million files cost 17 MB.
    this.#sizes = Float64Array.from(sizes);
    this.#done = new Float64Array(sizes.length);
    this.#settled = new Uint8Array(sizes.length);
  }

  /** Notes that `path` starts, with `offset` bytes already there. */
  start(path: string, offset: number): void {
    this.#current = path;
    this.#currentIndex = this.#indexes.get(path) ?? -1;
    this.#set(this.#currentIndex, offset);
  }

  /** Notes `count` more bytes of the current file moved. */
  add(count: number): void {
    this.#transferred += count;
    const index = this.#currentIndex;
    if (index !== -1) this.#set(index, this.#done[index] + count);
    const now = performance.now();
    if (now - this.#lastReport < PROGRESS_INTERVAL_MS) return;
    this.#lastReport = now;
    this.#emit(this.snapshot());
  }

  /** Notes that `path` is settled, whatever its outcome. */
  settle(path: string): void {
    const index = this.#indexes.get(path);
    if (index === undefined) return;
    if (this.#settled[index] === 0) this.#settledCount++;
    this.#settled[index] = 1;
    this.#set(index, this.#sizes[index]);
  }

  /** Where the transfer stands now. */
  snapshot(): ProgressEvent {
    const index = this.#currentIndex;
    return {
      type: "progress",
      path: this.#current,
      fileBytes: index === -1 ? 0 : this.#done[index],
      fileSize: index === -1 ? 0 : this.#sizes[index],
      bytes: this.#bytes,
      totalBytes: this.#totalBytes,
      files: this.#settledCount,
      totalFiles: this.#sizes.length,
      transferred: this.#transferred,
    };
  }

  #set(index: number, bytes: number): void {
    if (index === -1) return;
    this.#bytes += bytes - this.#done[index];
    this.#done[index] = bytes;
  }
}
