/**
 * The live progress display on a terminal: one line per transfer under way
 * (the client's run, or each of a server's sessions), redrawn in place at
 * most ten times a second, and hidden while other lines are printed. A
 * line shows the transfer's progress (see `progress_line.ts`) or what it
 * waits for.
 *
 * @module
 */

import type { ProgressEvent } from "../transfer/events.ts";
import { type Note, renderNote, renderProgress } from "./progress_line.ts";
import { cutEnd, displayWidth } from "./text_width.ts";

export { formatDuration, type Note, renderProgress } from "./progress_line.ts";

/** The display is redrawn at most this often. */
export const REDRAW_INTERVAL_MS = 100;

/** A note that counts seconds is redrawn this often. */
const TICK_MS = 1000;

/** The rate is measured over about this much recent time. */
const RATE_WINDOW_MS = 5000;

/** Lines the display takes at most; more transfers are counted on the last. */
export const MAX_LINES = 6;

/**
 * The width taken for a terminal that reports none: some ptys (serial
 * lines, containers started with `-t`) say 0 columns.
 */
export const UNKNOWN_COLUMNS = 80;

/** Where and how a {@link ProgressDisplay} draws. */
export interface DisplayTarget {
  /** Writes text to the terminal, at once. */
  write(text: string): void;
  /** The terminal's width in characters; 0 when it does not know. */
  columns(): number;
  /**
   * Whether escape codes may be used; without them a single line is
   * redrawn with a carriage return and padded with spaces.
   */
  escapes: boolean;
}

/** One transfer's line. */
interface Line {
  /** Shown before the line, such as the peer of a server's session. */
  prefix: string;
  latest: ProgressEvent | null;
  note: Note | null;
  samples: { at: number; bytes: number }[];
  /** When it last changed, to pick the line shown without escape codes. */
  changed: number;
}

/** Progress lines redrawn in place on a terminal. */
export class ProgressDisplay {
  #target: DisplayTarget;
  #lines = new Map<string, Line>();
  /** Widths of the lines on the screen now, top to bottom. */
  #shown: number[] = [];
  #lastDraw = -Infinity;
  #pending: ReturnType<typeof setTimeout> | undefined;
  #ticker: ReturnType<typeof setInterval> | undefined;

  /** A display drawing on `target`. */
  constructor(target: DisplayTarget) {
    this.#target = target;
  }

  /**
   * Takes new progress of the transfer `key` (shown after `prefix`); it
   * ends any note of that transfer, as data moves again.
   */
  update(event: ProgressEvent, key = "", prefix = ""): void {
    const line = this.#line(key, prefix);
    const now = performance.now();
    line.latest = event;
    line.note = null;
    line.changed = now;
    line.samples.push({ at: now, bytes: event.transferred });
    while (
      line.samples.length > 2 && now - line.samples[1].at > RATE_WINDOW_MS
    ) {
      line.samples.shift();
    }
    this.#request();
  }

  /**
   * Shows what the transfer `key` waits for instead of its rate and time
   * left, until its next progress or {@link note} (null takes it away).
   * The rate is measured afresh afterwards: the wait is not part of it.
   */
  note(note: Note | null, key = "", prefix = ""): void {
    const line = this.#line(key, prefix);
    line.note = note;
    line.samples = [];
    line.changed = performance.now();
    this.#tick();
    this.#request();
  }

  /** Takes the line of the transfer `key` away: it ended. */
  remove(key = ""): void {
    if (!this.#lines.delete(key)) return;
    this.#tick();
    this.#request(true);
  }

  /** Bytes per second of the transfer `key` over the recent past. */
  rate(key = ""): number {
    const samples = this.#lines.get(key)?.samples ?? [];
    const first = samples[0];
    const last = samples[samples.length - 1];
    if (first === undefined || last.at - first.at < 1) return 0;
    return ((last.bytes - first.bytes) / (last.at - first.at)) * 1000;
  }

  /** Draws the lines again now, as after the terminal changed its size. */
  redraw(): void {
    if (this.#lines.size > 0 || this.#shown.length > 0) this.#request(true);
  }

  /** Runs `print` with the lines hidden, then draws them again. */
  around(print: () => void): void {
    this.#clear();
    print();
    this.#draw();
  }

  /** Takes every line away for good. */
  finish(): void {
    this.#lines.clear();
    this.#tick();
    clearTimeout(this.#pending);
    this.#pending = undefined;
    this.#clear();
  }

  #line(key: string, prefix: string): Line {
    let line = this.#lines.get(key);
    if (line === undefined) {
      line = { prefix, latest: null, note: null, samples: [], changed: 0 };
      this.#lines.set(key, line);
    }
    return line;
  }

  /** Draws now if the last draw is old enough, else a little later. */
  #request(now = false): void {
    const wait = this.#lastDraw + REDRAW_INTERVAL_MS - performance.now();
    if (now || wait <= 0) {
      clearTimeout(this.#pending);
      this.#pending = undefined;
      this.#draw();
      return;
    }
    // The last change of a burst is drawn too, not just the first.
    if (this.#pending !== undefined) return;
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      this.#draw();
    }, wait);
    Deno.unrefTimer(this.#pending);
  }

  /** Keeps a timer running while a note counts seconds. */
  #tick(): void {
    const counting = [...this.#lines.values()].some((line) =>
      line.note?.since !== undefined
    );
    if (counting && this.#ticker === undefined) {
      this.#ticker = setInterval(() => this.#request(), TICK_MS);
      Deno.unrefTimer(this.#ticker);
    } else if (!counting && this.#ticker !== undefined) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    }
  }

  /** The text of each line to show, at most `columns` wide. */
  #render(columns: number, now: number): string[] {
    let lines = [...this.#lines.entries()];
    if (!this.#target.escapes) {
      // One line only: the transfer that changed last.
      lines = lines.sort((a, b) => b[1].changed - a[1].changed).slice(0, 1);
    }
    const shown = lines.length > MAX_LINES
      ? lines.slice(0, MAX_LINES - 1)
      : lines;
    const texts: string[] = [];
    for (const [key, line] of shown) {
      const room = columns - displayWidth(line.prefix);
      let text: string;
      if (line.latest !== null) {
        text = renderProgress(
          line.latest,
          this.rate(key),
          room,
          line.note ?? undefined,
          now,
        );
      } else if (line.note !== null) {
        text = renderNote(line.note, room, now);
      } else continue;
      texts.push(cutEnd(line.prefix + text, columns));
    }
    if (lines.length > shown.length) {
      texts.push(`… and ${lines.length - shown.length} more`);
    }
    return texts;
  }

  #draw(): void {
    const now = performance.now();
    this.#lastDraw = now;
    const width = this.#columns();
    // One column to spare: a line that fills the last column leaves the
    // cursor in a state terminals treat differently.
    const texts = this.#render(Math.max(20, width - 1), now);
    if (texts.length === 0) {
      this.#clear();
      return;
    }
    if (this.#target.escapes) {
      this.#target.write(this.#back(width) + texts.join("\n"));
    } else {
      const text = texts[0] ?? "";
      const pad = Math.max(0, (this.#shown[0] ?? 0) - displayWidth(text));
      this.#target.write(`\r${text}${" ".repeat(pad)}`);
    }
    this.#shown = texts.map(displayWidth);
  }

  /**
   * Escape codes that take the cursor to the start of the first line shown
   * and erase everything from there. A terminal narrowed since the last
   * draw has wrapped each line that no longer fits onto more rows (tmux,
   * VTE, kitty and most others rewrap on resize): counting them at the
   * width of now leaves no stale part behind.
   */
  #back(width: number): string {
    if (this.#shown.length === 0) return "\r\x1b[J";
    let rows = 0;
    for (const shown of this.#shown) {
      rows += Math.max(1, Math.ceil(shown / width));
    }
    return `${rows > 1 ? `\x1b[${rows - 1}A` : ""}\r\x1b[J`;
  }

  /**
   * The terminal's width: drawing and erasing must take the same one, and
   * a width of 0 would count a row for each character erased.
   */
  #columns(): number {
    const columns = this.#target.columns();
    return Number.isFinite(columns) && columns >= 1
      ? Math.floor(columns)
      : UNKNOWN_COLUMNS;
  }

  #clear(): void {
    if (this.#shown.length === 0) return;
    if (this.#target.escapes) {
      this.#target.write(this.#back(this.#columns()));
    } else {
      this.#target.write(`\r${" ".repeat(this.#shown[0])}\r`);
    }
    this.#shown = [];
  }
}
