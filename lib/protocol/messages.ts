/**
 * The control messages each side sends, as types, and their encoding as
 * the JSON payload of a control frame. The decoders, which check
 * everything that arrives, are in `decode.ts`.
 *
 * @module
 */

import { MAX_FRAME_PAYLOAD } from "./constants.ts";

/** What a manifest entry describes. */
export type EntryKind = "file" | "folder";

/** One file or folder the client offers to send. */
export interface Entry {
  /** Relative path, '/'-separated, checked by {@link checkRelativePath}. */
  path: string;
  /** File or folder. */
  kind: EntryKind;
  /** Size in bytes; 0 for folders. */
  size: number;
  /** Permission bits (at most 0o7777). */
  mode: number;
  /** Modification time, integer milliseconds since the Unix epoch. */
  mtime: number;
}

/**
 * What becomes of a file whose name the receiver already has with other
 * bytes, instead of the receiver's own rule: left as it is and counted as
 * skipped rather than failed, or saved under a new name.
 */
export type IfDifferent = "skip" | "rename";

/** The server's answer for one manifest entry, before any data flows. */
export type Decision =
  /**
   * Send this file. With `offset` above 0 the server already holds that
   * many bytes of it from an interrupted session: the client proves that
   * its own first `offset` bytes are those (a `proofs` item), and sends from
   * `offset` if the server answers that they match, from 0 if not.
   */
  | { action: "send"; offset: number }
  /**
   * A file is already under this name on the server: the client proves
   * what its own file holds (a `proofs` item), and the server answers
   * whether it is the same; a different one may be sent only if `replace`.
   * With `ifDifferent`, a different one is skipped (with `replace` false)
   * or saved under a new name (with `replace` true).
   */
  | { action: "compare"; replace: boolean; ifDifferent?: IfDifferent }
  /** The folder exists or will be created. */
  | { action: "accept" }
  /**
   * The server will not take this entry, for `reason`; with `later`, only
   * for now (another session holds the path), so the client may try again.
   */
  | { action: "refuse"; reason: string; later?: boolean };

/** Why the client does not send a file the server expected. */
export type SkipReason = "unreadable";

/**
 * The client's hash of its own bytes for an entry whose decision asked for
 * one: the first `offset` bytes for a `send` with an offset, the whole file
 * for a `compare`; null when it cannot read the file.
 */
export interface Proof {
  /** The entry. */
  index: number;
  /** Lowercase hex SHA-256, or null for a file the client cannot read. */
  sha256: string | null;
}

/** The server's answer to one {@link Proof}. */
export interface Match {
  /** The entry. */
  index: number;
  /** Whether the server holds exactly the bytes the proof hashes. */
  match: boolean;
  /** Where it holds them, when under another name than the entry's. */
  savedAs?: string;
}

/** Control messages the sender of the files sends (the client, unless the server shares). */
export type SenderMessage =
  | {
    type: "manifest";
    entries: Entry[];
    more: boolean;
    /** What the sender wants for a different file of the same name. */
    ifDifferent?: IfDifferent;
  }
  | { type: "proofs"; items: Proof[]; more: boolean }
  | { type: "file"; index: number; offset: number }
  | { type: "end"; index: number; sha256: string }
  | { type: "skip"; index: number; reason: SkipReason }
  | { type: "abort"; index: number; message: string }
  | { type: "done" }
  /** Still working (hashing a large file): keeps idle timeouts away. */
  | { type: "wait" }
  | { type: "error"; message: string };

/** Control messages the receiver of the files sends. */
export type ReceiverMessage =
  | { type: "decisions"; start: number; items: Decision[]; more: boolean }
  | { type: "matches"; items: Match[]; more: boolean }
  | {
    type: "verified";
    index: number;
    sha256: string;
    /** The name it was saved under, when not the entry's. */
    savedAs?: string;
  }
  | { type: "failed"; index: number; message: string }
  | { type: "summary"; verified: number; failed: number }
  /** Still working (hashing a large file): keeps idle timeouts away. */
  | { type: "wait" }
  | { type: "error"; message: string };

const encoder = new TextEncoder();

/** Encodes a control message as the payload of a control frame. */
export function encodeMessage(
  message: SenderMessage | ReceiverMessage,
): Uint8Array {
  const bytes = encoder.encode(JSON.stringify(message));
  if (bytes.length > MAX_FRAME_PAYLOAD) {
    throw new RangeError(`Control message of ${bytes.length} bytes is too big`);
  }
  return bytes;
}
