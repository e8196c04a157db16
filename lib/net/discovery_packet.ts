/**
 * The two packets of LAN discovery, written and read byte for byte as the
 * module comment of `discovery.ts` specifies them. Reading is strict: a
 * packet of the wrong length, magic, version or type, with a field out of
 * range or a reserved bit set, is not a packet of ours and reads as null.
 *
 * @module
 */

/** The UDP port of discovery, for queries and announcements. */
export const DISCOVERY_PORT = 65432;

/** The first four bytes of every packet: "DFTD". */
const MAGIC = [0x44, 0x46, 0x54, 0x44] as const;

/** The only format version there is. */
export const DISCOVERY_VERSION = 1;

/** Type byte of a query. */
const TYPE_QUERY = 1;

/** Type byte of an answer or an announcement. */
const TYPE_ANSWER = 2;

/** Length of a query in bytes. */
export const QUERY_LENGTH = 13;

/** Length of an answer or an announcement in bytes. */
export const ANSWER_LENGTH = 20;

/** The largest tag: the number part of a generated code is 0 to 9999. */
export const MAX_TAG = 9999;

/** Flag bit: the server's TCP port speaks TLS. */
export const FLAG_TLS = 1;

/** Flag bit: the server shares files rather than receiving them. */
export const FLAG_SHARES = 2;

/** Every flag bit that has a meaning; the others must be 0. */
const KNOWN_FLAGS = FLAG_TLS | FLAG_SHARES;

/** A query read from the network. */
export interface Query {
  /** The tag asked for. */
  tag: number;
  /** The asker's nonce, never 0. */
  nonce: number;
}

/** An answer or an announcement read from the network. */
export interface Answer {
  /** The server's tag. */
  tag: number;
  /** The query's nonce, or 0 for an announcement. */
  nonce: number;
  /** The server's random id, never 0. */
  id: number;
  /** The server's TCP port, never 0. */
  port: number;
  /** {@link FLAG_TLS} and {@link FLAG_SHARES}. */
  flags: number;
}

/** Whether `tag` can be sent: an integer from 0 to {@link MAX_TAG}. */
export function isTag(tag: number): boolean {
  return Number.isInteger(tag) && tag >= 0 && tag <= MAX_TAG;
}

/** Whether `value` fits a u32 field and is not 0. */
export function isNonzeroU32(value: number): boolean {
  return Number.isInteger(value) && value > 0 && value <= 0xffff_ffff;
}

/** A random u32 that is not 0, for nonces and server ids. */
export function randomNonzeroU32(): number {
  const buffer = new Uint32Array(1);
  do crypto.getRandomValues(buffer); while (buffer[0] === 0);
  return buffer[0];
}

/** The bytes of a query for `tag` with `nonce`. */
export function encodeQuery(query: Query): Uint8Array {
  if (!isTag(query.tag)) throw new RangeError(`Tag ${query.tag} out of range`);
  if (!isNonzeroU32(query.nonce)) throw new RangeError("Nonce out of range");
  const bytes = new Uint8Array(QUERY_LENGTH);
  const view = header(bytes, TYPE_QUERY, query.tag);
  view.setUint32(9, query.nonce);
  return bytes;
}

/** The bytes of an answer (nonce of the query) or announcement (nonce 0). */
export function encodeAnswer(answer: Answer): Uint8Array {
  if (!isTag(answer.tag)) {
    throw new RangeError(`Tag ${answer.tag} out of range`);
  }
  if (answer.nonce !== 0 && !isNonzeroU32(answer.nonce)) {
    throw new RangeError("Nonce out of range");
  }
  if (!isNonzeroU32(answer.id)) throw new RangeError("Server id out of range");
  if (
    !Number.isInteger(answer.port) || answer.port < 1 || answer.port > 65535
  ) {
    throw new RangeError(`Port ${answer.port} out of range`);
  }
  if ((answer.flags & ~KNOWN_FLAGS) !== 0 || answer.flags < 0) {
    throw new RangeError(`Unknown flags ${answer.flags}`);
  }
  const bytes = new Uint8Array(ANSWER_LENGTH);
  const view = header(bytes, TYPE_ANSWER, answer.tag);
  view.setUint32(9, answer.nonce);
  view.setUint32(13, answer.id);
  view.setUint16(17, answer.port);
  view.setUint8(19, answer.flags);
  return bytes;
}

/** Reads a query, or null for anything that is not exactly one. */
export function decodeQuery(bytes: Uint8Array): Query | null {
  if (bytes.length !== QUERY_LENGTH) return null;
  const view = checkedHeader(bytes, TYPE_QUERY);
  if (view === null) return null;
  const nonce = view.getUint32(9);
  if (nonce === 0) return null;
  return { tag: view.getUint16(7), nonce };
}

/** Reads an answer or announcement, or null for anything else. */
export function decodeAnswer(bytes: Uint8Array): Answer | null {
  if (bytes.length !== ANSWER_LENGTH) return null;
  const view = checkedHeader(bytes, TYPE_ANSWER);
  if (view === null) return null;
  const id = view.getUint32(13);
  const port = view.getUint16(17);
  const flags = view.getUint8(19);
  if (id === 0 || port === 0 || (flags & ~KNOWN_FLAGS) !== 0) return null;
  return { tag: view.getUint16(7), nonce: view.getUint32(9), id, port, flags };
}

/** Writes magic, version, type and tag; returns a view for the rest. */
function header(bytes: Uint8Array, type: number, tag: number): DataView {
  bytes.set(MAGIC, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint16(4, DISCOVERY_VERSION);
  view.setUint8(6, type);
  view.setUint16(7, tag);
  return view;
}

/** A view of `bytes` if magic, version, type and tag are right, else null. */
function checkedHeader(bytes: Uint8Array, type: number): DataView | null {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) return null;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(4) !== DISCOVERY_VERSION) return null;
  if (view.getUint8(6) !== type) return null;
  if (view.getUint16(7) > MAX_TAG) return null;
  return view;
}
