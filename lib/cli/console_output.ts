/**
 * What the command lines print, and where: lines for people on standard
 * output (or standard error when standard output carries data), problems
 * on standard error, live progress lines when standard error is a
 * terminal, or JSON events on standard output with `--json`. Lines about
 * each file are details: a terminal shows them only with `--verbose`, a
 * log (output that is not a terminal) always. Every line is made safe for
 * a terminal: controls, bidi and zero-width characters are shown as
 * `\uXXXX` escapes.
 *
 * @module
 */

import type { ProgressEvent } from "../transfer/events.ts";
import { type JsonEvent, JsonEventWriter } from "./json_events.ts";
import { type Note, ProgressDisplay } from "./progress_display.ts";
import { writeAllSync } from "../common/write_all.ts";
import { sanitize } from "../protocol/text.ts";

/** How much the program says, and in which form. */
export type OutputMode = "text" | "quiet" | "json";

/** How an {@link Output} is set up. */
export interface OutputOptions {
  /** Text, errors only, or JSON events. */
  mode: OutputMode;
  /** Standard output carries data: lines for people go to stderr. */
  stdoutTaken?: boolean;
  /** Show live progress lines when standard error is a terminal. */
  progress?: boolean;
  /** `--verbose`: a line per file on a terminal too. */
  verbose?: boolean;
}

const encoder = new TextEncoder();

/**
 * The output mode the flags ask for, read before they are checked, so that
 * even a usage error comes out in that mode.
 */
export function outputModeOf(args: readonly string[]): OutputMode {
  const end = args.indexOf("--");
  const flags = end === -1 ? args : args.slice(0, end);
  if (flags.includes("--json")) return "json";
  if (flags.includes("--quiet") || flags.includes("-q")) return "quiet";
  return "text";
}

/** Whether the flags ask for `--verbose` (`-v`), read like the mode. */
export function verboseOf(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  const flags = end === -1 ? args : args.slice(0, end);
  return flags.includes("--verbose") || flags.includes("-v");
}

/** Whether `NO_COLOR` is set to anything but the empty string. */
function noColor(): boolean {
  try {
    return (Deno.env.get("NO_COLOR") ?? "") !== "";
  } catch {
    // Without permission to read it, stay on the safe side.
    return true;
  }
}

/** One program's output, in the chosen mode. */
export class Output {
  /** The chosen mode. */
  readonly mode: OutputMode;
  /**
   * Text for a person at a terminal, without `--verbose`: the lines per
   * file are left out, the progress display and the summary say enough.
   */
  readonly compact: boolean;
  #info: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  #display: ProgressDisplay | null = null;
  #json: JsonEventWriter | null = null;

  /** Sets up the output for `options` and the terminal at hand. */
  constructor(options: OutputOptions) {
    this.mode = options.mode;
    this.#info = options.stdoutTaken ? Deno.stderr : Deno.stdout;
    this.compact = options.mode === "text" && !options.verbose &&
      this.#info.isTerminal();
    if (options.mode === "json") this.#json = new JsonEventWriter();
    if (
      options.mode === "text" && options.progress && Deno.stderr.isTerminal()
    ) {
      this.#display = new ProgressDisplay({
        write: (text) => writeAllSync(Deno.stderr, encoder.encode(text)),
        columns: () => {
          try {
            return Deno.consoleSize().columns;
          } catch {
            return 80;
          }
        },
        escapes: !noColor(),
      });
      const display = this.#display;
      try {
        // Redrawn at the new width at once, even while nothing moves.
        Deno.addSignalListener("SIGWINCH", () => display.redraw());
      } catch {
        // Windows has no SIGWINCH: the next update redraws.
      }
    }
  }

  /** A line for people: shown in text mode only. */
  info(line: string): void {
    if (this.mode !== "text") return;
    this.#print(this.#info, line);
  }

  /**
   * A line about one file: shown in text mode, unless {@link compact}.
   */
  detail(line: string): void {
    if (!this.compact) this.info(line);
  }

  /**
   * A problem the user should see even with `--quiet`; with `--json` it is
   * an event instead, unless `always` (a fatal error, which also ends
   * with a line on standard error).
   */
  problem(line: string, always = false): void {
    if (this.mode === "json" && !always) return;
    this.#print(Deno.stderr, line);
  }

  /** An event for `--json`; nothing in the other modes. */
  event(event: JsonEvent): void {
    this.#json?.write(event);
  }

  /**
   * New progress: the live line in text mode, an event with `--json`;
   * `key` tells apart the transfers of a server, whose lines start with
   * `prefix`.
   */
  progress(
    event: ProgressEvent,
    fields: Record<string, unknown> = {},
    key = "",
    prefix = "",
  ): void {
    this.#display?.update(event, key, prefix);
    this.#json?.write({ ...fields, ...event });
  }

  /**
   * What the transfer `key` waits for, on its live line until its next
   * progress (null takes it away); nothing without a live line.
   */
  note(note: Note | null, key = "", prefix = ""): void {
    this.#display?.note(note, key, prefix);
  }

  /** Whether live lines are shown. */
  get live(): boolean {
    return this.#display !== null;
  }

  /** Takes the live line of the transfer `key` away: it ended. */
  endTransfer(key = ""): void {
    this.#display?.remove(key);
  }

  /** Takes the live progress lines away, before the final lines. */
  endProgress(): void {
    this.#display?.finish();
  }

  #print(file: { writeSync(p: Uint8Array): number }, line: string): void {
    // Lines quote names and messages from the network and the file system:
    // whatever the caller did, none reaches the terminal raw.
    const safe = sanitize(line);
    const print = () => writeAllSync(file, encoder.encode(safe + "\n"));
    if (this.#display) this.#display.around(print);
    else print();
  }
}
