/**
 * The text of one progress line: bar, share done, bytes of all, rate, time
 * left, files done and the current file, or a note on what the transfer
 * waits for; fitted to the terminal's width by leaving parts out.
 *
 * @module
 */

import type { ProgressEvent } from "../transfer/events.ts";
import { formatBytes, formatRate } from "../common/format.ts";
import { sanitize } from "../protocol/text.ts";
import { cutEnd, cutMiddle, displayWidth } from "./text_width.ts";

/** Width of the bar, in characters, when the terminal has room for it. */
const BAR_WIDTH = 20;

/** Columns kept for the current file's name when the bar is shown. */
const NAME_ROOM_WITH_BAR = 20;

/** The fewest columns worth showing of the current file's name. */
const NAME_ROOM = 12;

/**
 * What a transfer waits for, shown in place of its rate and time left:
 * `before`, the `path` it concerns (cut in the middle to fit), `after`,
 * and the seconds since `since` (a `performance.now()` time) when given.
 */
export interface Note {
  /** The words before the path, or all of them. */
  before: string;
  /** A file name, escaped here and cut to fit. */
  path?: string;
  /** The words after the path. */
  after?: string;
  /** When the wait started, to show how long it lasts. */
  since?: number;
}

/** Seconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function percent(done: number, total: number): number {
  return total === 0 ? 100 : Math.floor((done / total) * 100);
}

/** `note` as text at most `columns` wide, at `now`. */
export function renderNote(note: Note, columns: number, now: number): string {
  const elapsed = note.since === undefined
    ? ""
    : ` (${Math.floor(Math.max(0, now - note.since) / 1000)} s so far)`;
  const after = (note.after ?? "") + elapsed;
  if (note.path === undefined) return cutEnd(note.before + after, columns);
  // Cut after escaping, so that the width counts what is shown.
  const path = sanitize(note.path);
  const room = columns - displayWidth(note.before) - displayWidth(after);
  return cutEnd(
    `${note.before}${cutMiddle(path, Math.max(room, NAME_ROOM))}${after}`,
    columns,
  );
}

/** The parts of a progress line, by name, in the order they are shown. */
type PartName = "bar" | "pct" | "bytes" | "rate" | "eta" | "note" | "files";

/** Which parts to try, richest first: the first that fits is shown. */
const LAYOUTS: readonly (readonly PartName[])[] = [
  ["bar", "pct", "bytes", "rate", "eta", "note", "files"],
  ["pct", "bytes", "rate", "eta", "note", "files"],
  ["pct", "bytes", "eta", "note", "files"],
  ["pct", "eta", "note", "files"],
  ["pct", "note", "files"],
  ["pct", "note"],
  ["pct"],
];

/**
 * The progress line for `event` at `rate` bytes per second, at most
 * `columns` characters wide, for example:
 *
 *     [########------------]  42%  1.1 GiB of 2.5 GiB  98.1 MiB/s  ETA 0:15  3 of 120 files  photos/beach.jpg 60%
 *
 * When it is narrower, the bar goes first, then the file name, the rate,
 * the bytes and the time left; the share done and the count of files stay
 * longest. A `note` takes the place of the rate and the time left.
 */
export function renderProgress(
  event: ProgressEvent,
  rate: number,
  columns: number,
  note?: Note,
  now: number = performance.now(),
): string {
  const overall = percent(event.bytes, event.totalBytes);
  const filled = Math.min(
    BAR_WIDTH,
    Math.floor((overall / 100) * BAR_WIDTH),
  );
  const left = event.totalBytes - event.bytes;
  const noteText = note === undefined ? undefined : renderNote(
    note,
    columns,
    now,
  );
  const parts: Record<PartName, string | undefined> = {
    bar: `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`,
    pct: `${String(overall).padStart(3)}%`,
    bytes: `${formatBytes(event.bytes)} of ${formatBytes(event.totalBytes)}`,
    rate: note === undefined ? formatRate(rate, 1) : undefined,
    eta: note === undefined
      ? `ETA ${rate > 0 ? formatDuration(left / rate) : "-:--"}`
      : undefined,
    note: noteText,
    files: event.totalFiles > 1
      ? `${event.files} of ${event.totalFiles} files`
      : undefined,
  };
  // A note that names a file says which one already.
  const name = event.path === "" || note?.path !== undefined
    ? undefined
    : sanitize(event.path);
  const fileShare = event.totalFiles > 1
    ? ` ${percent(event.fileBytes, event.fileSize)}%`
    : "";
  for (const [i, layout] of LAYOUTS.entries()) {
    const line = layout.map((part) => parts[part]).filter((text) =>
      text !== undefined
    ).join("  ");
    const width = displayWidth(line);
    if (width > columns) continue;
    if (name === undefined || i >= 2) return line;
    const room = columns - width - 2 - fileShare.length;
    const least = Math.min(
      displayWidth(name),
      i === 0 ? NAME_ROOM_WITH_BAR : NAME_ROOM,
    );
    if (room >= least) return `${line}  ${cutMiddle(name, room)}${fileShare}`;
  }
  if (note === undefined) return cutEnd(parts.pct!, columns);
  return cutEnd(
    `${parts.pct}  ${renderNote(note, columns - 6, now)}`,
    columns,
  );
}
