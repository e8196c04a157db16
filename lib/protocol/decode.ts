/**
 * The decoders of the control messages: every field of a message from the
 * network is checked before the rest of the program sees it.
 *
 * @module
 */

import {
  MAX_ENTRIES,
  MAX_FILE_SIZE,
  MAX_MTIME_MS,
  MAX_PATH_BYTES,
} from "./constants.ts";
import {
  array,
  boolean,
  field,
  index,
  integer,
  parseObject,
  record,
  sha256,
  text,
} from "./fields.ts";
import type {
  Decision,
  Entry,
  IfDifferent,
  Match,
  Proof,
  ReceiverMessage,
  SenderMessage,
} from "./messages.ts";
import { checkRelativePath } from "./paths.ts";
import { ProtocolError } from "./protocol_error.ts";
import { quote } from "./text.ts";

function decodeEntry(value: unknown, where: string): Entry {
  const object = record(value, where);
  const path = checkRelativePath(text(object, "path", where, MAX_PATH_BYTES));
  const kind = field(object, "kind", where);
  if (kind !== "file" && kind !== "folder") {
    throw new ProtocolError(`Unknown kind in ${where} for ${quote(path)}`);
  }
  const size = integer(object, "size", where, 0, MAX_FILE_SIZE);
  if (kind === "folder" && size !== 0) {
    throw new ProtocolError(`Folder ${quote(path)} has a non-zero size`);
  }
  const mode = integer(object, "mode", where, 0, 0o7777);
  const mtime = integer(object, "mtime", where, -MAX_MTIME_MS, MAX_MTIME_MS);
  return { path, kind, size, mode, mtime };
}

/** The optional `ifDifferent` member of `object`, checked. */
function ifDifferent(
  object: Record<string, unknown>,
  where: string,
): { ifDifferent?: IfDifferent } {
  if (!("ifDifferent" in object)) return {};
  const value = object.ifDifferent;
  if (value !== "skip" && value !== "rename") {
    throw new ProtocolError(`Unknown ifDifferent in ${where}`);
  }
  return { ifDifferent: value };
}

/** The optional `savedAs` member of `object`, a path, checked. */
function savedAs(
  object: Record<string, unknown>,
  where: string,
): { savedAs?: string } {
  if (!("savedAs" in object)) return {};
  return {
    savedAs: checkRelativePath(text(object, "savedAs", where, MAX_PATH_BYTES)),
  };
}
// The decisions almost every entry gets, one object for all of them: a
// sender holds a decision for each entry of its manifest.
const SEND_WHOLE: Decision = Object.freeze({ action: "send", offset: 0 });
const ACCEPT: Decision = Object.freeze({ action: "accept" });
const COMPARE: Decision = Object.freeze({ action: "compare", replace: false });
const REPLACE: Decision = Object.freeze({ action: "compare", replace: true });

function decodeDecision(value: unknown, where: string): Decision {
  const object = record(value, where);
  const action = field(object, "action", where);
  switch (action) {
    case "send": {
      const offset = integer(object, "offset", where, 0, MAX_FILE_SIZE);
      return offset === 0 ? SEND_WHOLE : { action, offset };
    }
    case "compare":
      if ("ifDifferent" in object) {
        return {
          action,
          replace: boolean(object, "replace", where),
          ...ifDifferent(object, where),
        };
      }
      return boolean(object, "replace", where) ? REPLACE : COMPARE;
    case "accept":
      return ACCEPT;
    case "refuse": {
      const reason = text(object, "reason", where);
      return "later" in object
        ? { action, reason, later: boolean(object, "later", where) }
        : { action, reason };
    }
    default:
      throw new ProtocolError(`Unknown action in ${where}`);
  }
}

function decodeProof(value: unknown, where: string): Proof {
  const object = record(value, where);
  const index = integer(object, "index", where, 0, MAX_ENTRIES - 1);
  if (field(object, "sha256", where) === null) return { index, sha256: null };
  return { index, sha256: sha256(object, "sha256", where) };
}

function decodeMatch(value: unknown, where: string): Match {
  const object = record(value, where);
  return {
    index: integer(object, "index", where, 0, MAX_ENTRIES - 1),
    match: boolean(object, "match", where),
    ...savedAs(object, where),
  };
}

function messageType(object: Record<string, unknown>): string {
  const type = field(object, "type", "control message");
  if (typeof type !== "string") {
    throw new ProtocolError("Control message type is not a string");
  }
  return type;
}

/**
 * Decodes and validates a control message the sender sent; `from` names it
 * in the errors (the client, unless the server shares files).
 */
export function decodeSenderMessage(
  payload: Uint8Array,
  from: "client" | "server" = "client",
): SenderMessage {
  const object = parseObject(payload);
  const type = messageType(object);
  const where = `${type} message`;
  switch (type) {
    case "manifest":
      return {
        type,
        entries: array(object, "entries", where).map((entry, i) =>
          decodeEntry(entry, `manifest entry ${i}`)
        ),
        more: boolean(object, "more", where),
        ...ifDifferent(object, where),
      };
    case "proofs":
      return {
        type,
        items: array(object, "items", where).map((item, i) =>
          decodeProof(item, `proof ${i}`)
        ),
        more: boolean(object, "more", where),
      };
    case "file":
      return {
        type,
        index: index(object, where),
        offset: integer(object, "offset", where, 0, MAX_FILE_SIZE),
      };
    case "end":
      return {
        type,
        index: index(object, where),
        sha256: sha256(object, "sha256", where),
      };
    case "skip": {
      const reason = field(object, "reason", where);
      if (reason !== "unreadable") {
        throw new ProtocolError(`Unknown reason in ${where}`);
      }
      return { type, index: index(object, where), reason };
    }
    case "abort":
      return {
        type,
        index: index(object, where),
        message: text(object, "message", where),
      };
    case "done":
    case "wait":
      return { type };
    case "error":
      return { type, message: text(object, "message", where) };
    default:
      throw new ProtocolError(
        `Unknown control message type ${quote(type)} from ${from}`,
      );
  }
}

/**
 * Decodes and validates a control message the receiver sent; `from` names
 * it in the errors (the server, unless it shares files).
 */
export function decodeReceiverMessage(
  payload: Uint8Array,
  from: "client" | "server" = "server",
): ReceiverMessage {
  const object = parseObject(payload);
  const type = messageType(object);
  const where = `${type} message`;
  switch (type) {
    case "wait":
      return { type };
    case "decisions":
      return {
        type,
        start: integer(object, "start", where, 0, MAX_ENTRIES),
        items: array(object, "items", where).map((item, i) =>
          decodeDecision(item, `decision ${i}`)
        ),
        more: boolean(object, "more", where),
      };
    case "matches":
      return {
        type,
        items: array(object, "items", where).map((item, i) =>
          decodeMatch(item, `match ${i}`)
        ),
        more: boolean(object, "more", where),
      };
    case "verified":
      return {
        type,
        index: index(object, where),
        sha256: sha256(object, "sha256", where),
        ...savedAs(object, where),
      };
    case "failed":
      return {
        type,
        index: index(object, where),
        message: text(object, "message", where),
      };
    case "summary":
      return {
        type,
        verified: integer(object, "verified", where, 0, MAX_ENTRIES),
        failed: integer(object, "failed", where, 0, MAX_ENTRIES),
      };
    case "error":
      return { type, message: text(object, "message", where) };
    default:
      throw new ProtocolError(
        `Unknown control message type ${quote(type)} from ${from}`,
      );
  }
}
