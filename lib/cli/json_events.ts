/**
 * `--json`: every event as one JSON object per line on standard output,
 * in the schema of docs/EVENTS.md, with every character a terminal could
 * act on escaped.
 *
 * @module
 */

import { writeAllSync } from "../common/write_all.ts";
import { sanitize } from "../protocol/text.ts";

/** An event as written: its `type` and fields of its own. */
export type JsonEvent = { type: string } & Record<string, unknown>;

/** `progress` lines come at most this often. */
export const JSON_PROGRESS_INTERVAL_MS = 250;

/**
 * Writes events as JSON lines, each with `type` first and the time it
 * happened, and drops `progress` events that come too soon after the last
 * one of the same `peer`.
 */
export class JsonEventWriter {
  #write: (bytes: Uint8Array) => void;
  #encoder = new TextEncoder();
  /** When the last progress line was written, by `peer`. */
  #lastProgress = new Map<unknown, number>();

  /** Writes lines with `write`, standard output by default. */
  constructor(
    write: (bytes: Uint8Array) => void = (bytes) =>
      writeAllSync(Deno.stdout, bytes),
  ) {
    this.#write = write;
  }

  /** Writes `event`, unless it is a progress event that comes too soon. */
  write(event: JsonEvent): void {
    const now = performance.now();
    if (event.type === "progress") {
      const last = this.#lastProgress.get(event.peer) ?? -Infinity;
      if (now - last < JSON_PROGRESS_INTERVAL_MS) return;
      this.#lastProgress.set(event.peer, now);
    }
    const { type, ...fields } = event;
    // JSON.stringify leaves DEL, C1 controls, U+2028/2029, bidi and
    // zero-width characters raw, which would reach a terminal showing the
    // lines. They occur only inside strings, where the same \uXXXX escapes
    // keep the JSON valid and decoding to the very same strings.
    const line = sanitize(JSON.stringify({
      type,
      time: new Date().toISOString(),
      ...fields,
    }));
    this.#write(this.#encoder.encode(line + "\n"));
  }
}
