/**
 * Events the transfer layer reports to the command line, for both sides.
 * The command line turns them into text lines (and, later, JSON).
 *
 * @module
 */

/** Why an entry was not transferred. */
export type SkipKind = "already-there";

/** Something that happened during a transfer. */
export type TransferEvent =
  | { type: "file-start"; path: string; size: number; offset: number }
  | { type: "file-verified"; path: string; size: number; sha256: string }
  | { type: "file-skipped"; path: string; reason: SkipKind; sha256?: string }
  | { type: "file-failed"; path: string; message: string }
  | { type: "warning"; message: string };

/** Receives events; the command line decides how to show them. */
export type EventSink = (event: TransferEvent) => void;
