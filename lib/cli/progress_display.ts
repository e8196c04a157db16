/**
 * The live progress line on a terminal: current file, bytes done of all,
 * rate, time left and files done, redrawn in place at most ten times a
 * second, and hidden while other lines are printed.
 *
 * @module
 */

import type { ProgressEvent } from "../transfer/events.ts";
import { formatBytes, formatRate } from "../common/format.ts";
import { sanitize } from "../protocol/text.ts";

/** The line is redrawn at most this often. */
export const REDRAW_INTERVAL_MS = 100;

/** The rate is measured over about this much recent time. */
const RATE_WINDOW_MS = 5000;

/** Width of the bar, in characters, when the terminal has room for it. */
const BAR_WIDTH = 20;

/** Seconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** `text` cut to `width` characters, keeping its end. */
function keepEnd(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(text.length - width);
  return "…" + text.slice(text.length - width + 1);
}

function percent(done: number, total: number): number {
  return total === 0 ? 100 : Math.floor((done / total) * 100);
}

/**
 * The progress line for `event` at `rate` bytes per second, at most
 * `columns` characters wide, for example:
 *
 *     [########------------]  42%  1.1 GiB of 2.5 GiB  98.1 MiB/s  ETA 0:15  3 of 120 files  photos/beach.jpg 60%
 */
export function renderProgress(
  event: ProgressEvent,
  rate: number,
  columns: number,
): string {
  const overall = percent(event.bytes, event.totalBytes);
  const filled = Math.min(
    BAR_WIDTH,
    Math.floor((overall / 100) * BAR_WIDTH),
  );
  const bar = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
  const left = event.totalBytes - event.bytes;
  const eta = rate > 0 ? formatDuration(left / rate) : "-:--";
  const parts = [
    `${String(overall).padStart(3)}%`,
    `${formatBytes(event.bytes)} of ${formatBytes(event.totalBytes)}`,
    formatRate(rate, 1),
    `ETA ${eta}`,
  ];
  if (event.totalFiles > 1) {
    parts.push(`${event.files} of ${event.totalFiles} files`);
  }
  let line = parts.join("  ");
  if (columns >= line.length + bar.length + 2 + 20) line = `${bar}  ${line}`;
  if (event.path !== "") {
    const file = event.totalFiles > 1
      ? ` ${percent(event.fileBytes, event.fileSize)}%`
      : "";
    const room = columns - line.length - 2 - file.length;
    // Cut after escaping, so that the width counts what is shown.
    if (room >= 8) line += `  ${keepEnd(sanitize(event.path), room)}${file}`;
  }
  return line.length > columns ? line.slice(0, columns) : line;
}

/** Where and how a {@link ProgressDisplay} draws. */
export interface DisplayTarget {
  /** Writes text to the terminal, at once. */
  write(text: string): void;
  /** The terminal's width in characters. */
  columns(): number;
  /**
   * Whether escape codes may be used; without them the line is redrawn
   * with a carriage return and padded with spaces.
   */
  escapes: boolean;
}

/** A progress line redrawn in place on a terminal. */
export class ProgressDisplay {
  #target: DisplayTarget;
  #latest: ProgressEvent | null = null;
  #samples: { at: number; bytes: number }[] = [];
  #shown = 0;
  #lastDraw = -Infinity;

  /** A display drawing on `target`. */
  constructor(target: DisplayTarget) {
    this.#target = target;
  }

  /** Takes new progress; redraws if the last draw is old enough. */
  update(event: ProgressEvent): void {
    this.#latest = event;
    const now = performance.now();
    this.#samples.push({ at: now, bytes: event.transferred });
    while (
      this.#samples.length > 2 && now - this.#samples[1].at > RATE_WINDOW_MS
    ) {
      this.#samples.shift();
    }
    if (now - this.#lastDraw < REDRAW_INTERVAL_MS) return;
    this.#draw(now);
  }

  /** Bytes per second over the recent past. */
  rate(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (first === undefined || last.at - first.at < 1) return 0;
    return ((last.bytes - first.bytes) / (last.at - first.at)) * 1000;
  }

  /** Runs `print` with the line hidden, then draws it again. */
  around(print: () => void): void {
    this.#clear();
    print();
    if (this.#latest !== null) this.#draw(performance.now());
  }

  /** Takes the line away for good. */
  finish(): void {
    this.#clear();
    this.#latest = null;
  }

  #draw(now: number): void {
    if (this.#latest === null) return;
    this.#lastDraw = now;
    const columns = Math.max(20, this.#target.columns() - 1);
    const line = renderProgress(this.#latest, this.rate(), columns);
    if (this.#target.escapes) {
      this.#target.write(`\r\x1b[2K${line}`);
    } else {
      this.#target.write(`\r${line.padEnd(this.#shown)}`);
    }
    this.#shown = line.length;
  }

  #clear(): void {
    if (this.#shown === 0) return;
    this.#target.write(
      this.#target.escapes ? "\r\x1b[2K" : `\r${" ".repeat(this.#shown)}\r`,
    );
    this.#shown = 0;
  }
}
