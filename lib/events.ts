/**
 * Events the transfer layer reports to the command line, for both sides.
 * The command line shows them as text lines and a progress display, or
 * writes them as JSON lines (docs/EVENTS.md).
 *
 * @module
 */

/** Why an entry was not transferred. */
export type SkipKind = "already-there";

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
  | { type: "file-start"; path: string; size: number; offset: number }
  | ProgressEvent
  | { type: "file-verified"; path: string; size: number; sha256: string }
  | { type: "file-skipped"; path: string; reason: SkipKind; sha256?: string }
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
  #done = new Map<string, number>();
  #sizes = new Map<string, number>();
  #bytes = 0;
  #totalBytes = 0;
  #settled = new Set<string>();
  #transferred = 0;
  #current = "";
  /** The first report of a run is never held back, however early it comes. */
  #lastReport = -Infinity;

  /** Counts the files among `entries` and reports to `emit`. */
  constructor(
    entries: Iterable<{ path: string; kind: string; size: number }>,
    emit: EventSink,
  ) {
    this.#emit = emit;
    for (const { path, kind, size } of entries) {
      if (kind !== "file") continue;
      this.#sizes.set(path, size);
      this.#totalBytes += size;
    }
  }

  /** Notes that `path` starts, with `offset` bytes already there. */
  start(path: string, offset: number): void {
    this.#current = path;
    this.#set(path, offset);
  }

  /** Notes `count` more bytes of the current file moved. */
  add(count: number): void {
    this.#transferred += count;
    this.#set(this.#current, (this.#done.get(this.#current) ?? 0) + count);
    const now = performance.now();
    if (now - this.#lastReport < PROGRESS_INTERVAL_MS) return;
    this.#lastReport = now;
    this.#emit(this.snapshot());
  }

  /** Notes that `path` is settled, whatever its outcome. */
  settle(path: string): void {
    const size = this.#sizes.get(path);
    if (size === undefined) return;
    this.#settled.add(path);
    this.#set(path, size);
  }

  /** Where the transfer stands now. */
  snapshot(): ProgressEvent {
    return {
      type: "progress",
      path: this.#current,
      fileBytes: this.#done.get(this.#current) ?? 0,
      fileSize: this.#sizes.get(this.#current) ?? 0,
      bytes: this.#bytes,
      totalBytes: this.#totalBytes,
      files: this.#settled.size,
      totalFiles: this.#sizes.size,
      transferred: this.#transferred,
    };
  }

  #set(path: string, bytes: number): void {
    if (!this.#sizes.has(path)) return;
    this.#bytes += bytes - (this.#done.get(path) ?? 0);
    this.#done.set(path, bytes);
  }
}
