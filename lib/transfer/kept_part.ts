/**
 * What a session that ended early left of the file in flight: said in a
 * few plain words for the log ("kept 656 MiB of 3.0 GiB of "big.bin" for
 * a resume"), and attached to the error that ended the session, exact,
 * for whoever reports it.
 *
 * @module
 */

import { formatBytes } from "../common/format.ts";
import { quote } from "../protocol/text.ts";

/** What was left of the file in flight when a session ended early. */
export interface KeptPart {
  /** The file. */
  path: string;
  /** Its size. */
  size: number;
  /**
   * Bytes kept to resume from, or null when the data was written straight
   * out (standard output) and nothing can be resumed.
   */
  kept: number | null;
  /** Bytes of it that arrived in this session. */
  arrived: number;
}

const parts = new WeakMap<Error, KeptPart>();

/** `part` in a few words. */
export function describeKept(part: KeptPart): string {
  const name = quote(part.path);
  if (part.kept === null) {
    return `${formatBytes(part.arrived)} of ${name} had been written out`;
  }
  if (part.kept === 0) return `nothing of ${name} kept`;
  return `kept ${formatBytes(part.kept)} of ${
    formatBytes(part.size)
  } of ${name} for a resume`;
}

/**
 * Attaches `part` to `error`, which ended the session, and says it at the
 * end of its message: one line tells what went wrong and what is left.
 */
export function noteKept(error: unknown, part: KeptPart): void {
  if (!(error instanceof Error)) return;
  parts.set(error, part);
  error.message += `; ${describeKept(part)}`;
}

/** What `error` left of the file in flight, if {@link noteKept} said. */
export function keptPartOf(error: unknown): KeptPart | undefined {
  return error instanceof Error ? parts.get(error) : undefined;
}
