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

/**
 * Receives events; the command line decides how to show them. The
 * transfer layer's own sinks also get the index of the manifest entry an
 * event is about, so that they count by index instead of keeping a map of
 * every path.
 */
export type EventSink = (event: TransferEvent, index?: number) => void;

/** Progress events come at most this often from one run or session. */
export const PROGRESS_INTERVAL_MS = 100;

/** What {@link ProgressCounter} keeps of an entry that is not a file. */
const NOT_A_FILE = 0;
/** A file not settled yet. */
const OPEN = 1;
/** A file settled, whatever its outcome. */
const SETTLED = 2;

/**
 * Counts bytes and files of a transfer and reports a {@link ProgressEvent}
 * to `emit` at most every {@link PROGRESS_INTERVAL_MS}. Entries are named
 * by their index in the manifest.
 */
export class ProgressCounter {
  #emit: EventSink;
  // Arrays of numbers by entry index rather than maps by path: a hundred
  // thousand entries cost 1.7 MB.
  #sizes: Float64Array;
  #done: Float64Array;
  #states: Uint8Array;
  #files = 0;
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
    entries:
      & { readonly length: number }
      & Iterable<
        { kind: string; size: number }
      >,
    emit: EventSink,
  ) {
    this.#emit = emit;
    this.#sizes = new Float64Array(entries.length);
    this.#done = new Float64Array(entries.length);
    this.#states = new Uint8Array(entries.length);
    let index = 0;
    for (const { kind, size } of entries) {
      if (kind === "file") {
        this.#states[index] = OPEN;
        this.#sizes[index] = size;
        this.#totalBytes += size;
        this.#files++;
      }
      index++;
    }
  }

  /** Notes that entry `index`, at `path`, starts with `offset` bytes there. */
  start(index: number, path: string, offset: number): void {
    if (this.#states[index] === undefined) return;
    this.#current = path;
    this.#currentIndex = index;
    this.#set(index, offset);
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

  /** Notes that entry `index` is settled, whatever its outcome. */
  settle(index: number): void {
    const state = this.#states[index];
    if (state === undefined || state === NOT_A_FILE) return;
    if (state === OPEN) this.#settledCount++;
    this.#states[index] = SETTLED;
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
      totalFiles: this.#files,
      transferred: this.#transferred,
    };
  }

  #set(index: number, bytes: number): void {
    if (this.#states[index] === NOT_A_FILE) return;
    this.#bytes += bytes - this.#done[index];
    this.#done[index] = bytes;
  }
}
