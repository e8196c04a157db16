/**
 * The wire format shared by `server.ts` and `client.ts`: constants, limits,
 * the hello, the frame header and the control messages, with strict
 * validation of everything that arrives from the network.
 *
 * This module does no I/O. `docs/PROTOCOL.md` specifies the same format in
 * prose, byte by byte.
 *
 * @module
 */

/** Version of the wire protocol; peers with another version refuse to talk. */
export const PROTOCOL_VERSION = 3;

/** Port the server listens on unless told otherwise. */
export const DEFAULT_PORT = 65432;

/** The four bytes every connection starts with, in both directions: "DFTP". */
export const MAGIC: Uint8Array = new Uint8Array([0x44, 0x46, 0x54, 0x50]);

/** Length in bytes of the hello each side sends first. */
export const HELLO_LENGTH = 8;

/** Length in bytes of a frame header: a u32 length and a u8 frame type. */
export const FRAME_HEADER_LENGTH = 5;

/** Largest payload one frame may carry. */
export const MAX_FRAME_PAYLOAD: number = 1024 * 1024;

/** Bytes of a file the sender reads at once. */
export const DATA_CHUNK_SIZE: number = MAX_FRAME_PAYLOAD;

/**
 * Bytes of file data the sender puts in one data frame: a whole chunk, as
 * each record costs a fixed overhead to seal and open.
 */
export const DATA_FRAME_SIZE: number = DATA_CHUNK_SIZE;

/**
 * How often a side that is busy hashing sends a `wait` message, so that
 * the other side's idle timeout (1 s at the least) does not drop it.
 */
export const KEEP_ALIVE_MS = 500;

/** Longest relative path, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096;

/** Longest single path component, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;

/**
 * Most components of one path: deep enough for any real tree, and it keeps
 * the folder work a path costs the server bounded.
 */
export const MAX_PATH_DEPTH = 256;

/** Most entries one manifest may hold. */
export const MAX_ENTRIES = 1_000_000;

/** Most bytes of manifest payload, over all its frames, per session. */
export const MAX_MANIFEST_BYTES: number = 128 * 1024 * 1024;

/** Largest file size the protocol accepts: 1 PiB. */
export const MAX_FILE_SIZE: number = 2 ** 50;

/** Longest free-text reason or error message, in characters. */
export const MAX_MESSAGE_CHARS = 1000;

/** Largest absolute mtime, in milliseconds: the range of a JavaScript Date. */
export const MAX_MTIME_MS = 8.64e15;

/** Which side of the transfer a peer is; sent in the hello. */
export const Role = {
  /** The client: it sends files. */
  Sender: 1,
  /** The server: it receives files. */
  Receiver: 2,
} as const;

/** A peer role as carried in the hello. */
export type Role = typeof Role[keyof typeof Role];

/** The type byte of a frame. */
export const FrameType = {
  /** A control message: UTF-8 JSON object. */
  Control: 1,
  /** Raw bytes of the file currently being sent. */
  Data: 2,
  /** A key-exchange message; only before the channel is encrypted. */
  Handshake: 3,
} as const;

/** A frame type byte. */
export type FrameType = typeof FrameType[keyof typeof FrameType];

/** Raised when a peer sends something the protocol does not allow. */
export class ProtocolError extends Error {
  /** Creates an error with a one-line message naming the problem. */
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** What one side learns from the other's hello. */
export interface Hello {
  /** The peer's protocol version. */
  version: number;
  /** The peer's role. */
  role: Role;
  /** A server at its connection limit, about to close. */
  busy: boolean;
}

/**
 * Hello flag of a server at its limit of simultaneous connections: it
 * closes the connection right after this hello, and the client may try
 * again later.
 */
export const HELLO_FLAG_BUSY = 1;

/** Encodes the hello a peer with `role` sends first. */
export function encodeHello(role: Role, flags = 0): Uint8Array {
  const bytes = new Uint8Array(HELLO_LENGTH);
  bytes.set(MAGIC, 0);
  new DataView(bytes.buffer).setUint16(4, PROTOCOL_VERSION);
  bytes[6] = role;
  bytes[7] = flags;
  return bytes;
}

/**
 * Decodes and checks a hello received from a peer that should have role
 * `expected`; throws {@link ProtocolError} on anything else.
 */
export function decodeHello(bytes: Uint8Array, expected: Role): Hello {
  if (bytes.length !== HELLO_LENGTH) {
    throw new ProtocolError("Truncated hello from peer");
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) {
      // 0x15 and 0x16 start TLS alert and handshake records.
      const tls = bytes[0] === 0x15 || bytes[0] === 0x16;
      throw new ProtocolError(
        tls
          ? "Peer speaks TLS, not this protocol in the clear: use TLS on both sides (--tls on the client, --cert and --key on the server)"
          : "Peer does not speak this file-transfer protocol (wrong magic bytes)",
      );
    }
  }
  const version = new DataView(bytes.buffer, bytes.byteOffset).getUint16(4);
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      `Peer speaks protocol version ${version}, this program speaks version ${PROTOCOL_VERSION}: use the same release on both sides`,
    );
  }
  const role = bytes[6];
  if (role !== expected) {
    const what = role === Role.Sender
      ? "a client"
      : role === Role.Receiver
      ? "a server"
      : `an unknown role (${role})`;
    throw new ProtocolError(`Peer is ${what}, expected the other side`);
  }
  const known = role === Role.Receiver ? HELLO_FLAG_BUSY : 0;
  if ((bytes[7] & ~known) !== 0) {
    throw new ProtocolError(`Unknown hello flags ${bytes[7]} from peer`);
  }
  return { version, role, busy: (bytes[7] & HELLO_FLAG_BUSY) !== 0 };
}

/**
 * Writes a frame header for a frame of `type` with `payloadLength` bytes
 * into `target` at `offset`.
 */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  type: FrameType,
  payloadLength: number,
): void {
  if (payloadLength > MAX_FRAME_PAYLOAD) {
    throw new RangeError(`Frame payload of ${payloadLength} bytes is too big`);
  }
  new DataView(target.buffer, target.byteOffset).setUint32(
    offset,
    payloadLength + 1,
  );
  target[offset + 4] = type;
}

/**
 * Reads the length field of a frame header and returns the payload length,
 * after checking it against {@link MAX_FRAME_PAYLOAD}.
 */
export function readFrameLength(header: Uint8Array, offset: number): number {
  const length = new DataView(header.buffer, header.byteOffset).getUint32(
    offset,
  );
  if (length < 1) throw new ProtocolError("Frame with length 0 from peer");
  if (length - 1 > MAX_FRAME_PAYLOAD) {
    throw new ProtocolError(
      `Frame of ${
        length - 1
      } bytes from peer exceeds the limit of ${MAX_FRAME_PAYLOAD}`,
    );
  }
  return length - 1;
}

/** Checks a frame type byte received from the peer. */
export function checkFrameType(type: number): FrameType {
  if (
    type !== FrameType.Control && type !== FrameType.Data &&
    type !== FrameType.Handshake
  ) {
    throw new ProtocolError(`Unknown frame type ${type} from peer`);
  }
  return type;
}

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
   */
  | { action: "compare"; replace: boolean }
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
}

/** Control messages the client sends. */
export type ClientMessage =
  | { type: "manifest"; entries: Entry[]; more: boolean }
  | { type: "proofs"; items: Proof[]; more: boolean }
  | { type: "file"; index: number; offset: number }
  | { type: "end"; index: number; sha256: string }
  | { type: "skip"; index: number; reason: SkipReason }
  | { type: "abort"; index: number; message: string }
  | { type: "done" }
  /** Still working (hashing a large file): keeps idle timeouts away. */
  | { type: "wait" }
  | { type: "error"; message: string };

/** Control messages the server sends. */
export type ServerMessage =
  | { type: "decisions"; start: number; items: Decision[]; more: boolean }
  | { type: "matches"; items: Match[]; more: boolean }
  | { type: "verified"; index: number; sha256: string }
  | { type: "failed"; index: number; message: string }
  | { type: "summary"; verified: number; failed: number }
  /** Still working (hashing a large file): keeps idle timeouts away. */
  | { type: "wait" }
  | { type: "error"; message: string };

const encoder = new TextEncoder();

// C0 and C1 controls, DEL, and line and paragraph separators could drive a
// terminal or forge log lines.
// deno-lint-ignore no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Encodes a control message as the payload of a control frame. */
export function encodeMessage(
  message: ClientMessage | ServerMessage,
): Uint8Array {
  const bytes = encoder.encode(JSON.stringify(message));
  if (bytes.length > MAX_FRAME_PAYLOAD) {
    throw new RangeError(`Control message of ${bytes.length} bytes is too big`);
  }
  return bytes;
}

// What is never shown raw: the controls above, and every format character
// (\p{Cf}): bidi controls such as U+202E, which show "invoice\u202Efdp.exe"
// as "invoiceexe.pdf", and zero-width ones such as U+200B, which make two
// names look alike. Names may hold them (they are legitimate in Arabic,
// Hebrew, Indic and emoji names), so only their display is escaped.
const DISPLAY_ESCAPED = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/**
 * Makes untrusted text safe to print on one line: every control character,
 * line or paragraph separator and format character (bidi controls,
 * zero-width characters) becomes a `\uXXXX` escape, one per UTF-16 unit as
 * in JSON, so that a peer or a file name cannot drive the terminal, forge
 * log lines or disguise a name.
 */
export function sanitize(value: string): string {
  return value.replace(DISPLAY_ESCAPED, (c) => {
    let escaped = "";
    for (let i = 0; i < c.length; i++) {
      escaped += `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`;
    }
    return escaped;
  });
}

/**
 * Cuts free text to {@link MAX_MESSAGE_CHARS}, which the peer enforces;
 * operating-system errors can quote paths of up to 4 KiB.
 */
export function clipMessage(message: string): string {
  if (message.length <= MAX_MESSAGE_CHARS) return message;
  let end = MAX_MESSAGE_CHARS - 1;
  const last = message.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // keep surrogate pairs whole
  return message.slice(0, end) + "…";
}

/** Shows an untrusted name safely in a one-line message, in quotes. */
export function quote(value: string): string {
  const shown = value.length > 80 ? value.slice(0, 80) + "…" : value;
  return `"${sanitize(shown).replaceAll('"', '\\"')}"`;
}

function parseObject(payload: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(payload));
  } catch {
    throw new ProtocolError("Malformed control message from peer (not JSON)");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError(
      "Malformed control message from peer (not an object)",
    );
  }
  return value as Record<string, unknown>;
}

function field(
  object: Record<string, unknown>,
  name: string,
  where: string,
): unknown {
  if (!Object.hasOwn(object, name)) {
    throw new ProtocolError(`Missing field ${name} in ${where}`);
  }
  return object[name];
}

function integer(
  object: Record<string, unknown>,
  name: string,
  where: string,
  min: number,
  max: number,
): number {
  const value = field(object, name, where);
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new ProtocolError(`Field ${name} in ${where} is not an integer`);
  }
  if (value < min) {
    throw new ProtocolError(
      `Field ${name} in ${where} is ${value}, below ${min}`,
    );
  }
  if (value > max) {
    throw new ProtocolError(
      `Field ${name} in ${where} is ${value}, beyond the limit of ${max}`,
    );
  }
  return value;
}

function text(
  object: Record<string, unknown>,
  name: string,
  where: string,
  maxChars = MAX_MESSAGE_CHARS,
): string {
  const value = field(object, name, where);
  if (typeof value !== "string") {
    throw new ProtocolError(`Field ${name} in ${where} is not a string`);
  }
  if (value.length > maxChars) {
    throw new ProtocolError(`Field ${name} in ${where} is too long`);
  }
  return value;
}

function boolean(
  object: Record<string, unknown>,
  name: string,
  where: string,
): boolean {
  const value = field(object, name, where);
  if (typeof value !== "boolean") {
    throw new ProtocolError(`Field ${name} in ${where} is not a boolean`);
  }
  return value;
}

function array(
  object: Record<string, unknown>,
  name: string,
  where: string,
): unknown[] {
  const value = field(object, name, where);
  if (!Array.isArray(value)) {
    throw new ProtocolError(`Field ${name} in ${where} is not an array`);
  }
  return value;
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError(`${where} is not an object`);
  }
  return value as Record<string, unknown>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function sha256(
  object: Record<string, unknown>,
  name: string,
  where: string,
): string {
  const value = text(object, name, where, 64);
  if (!SHA256_HEX.test(value)) {
    throw new ProtocolError(
      `Field ${name} in ${where} is not a lowercase hex SHA-256`,
    );
  }
  return value;
}

function index(object: Record<string, unknown>, where: string): number {
  return integer(object, "index", where, 0, MAX_ENTRIES - 1);
}

/**
 * Checks a relative path from the network and returns it unchanged, or
 * throws {@link ProtocolError} naming what is wrong with it.
 */
export function checkRelativePath(path: string): string {
  const reject = (why: string): never => {
    throw new ProtocolError(`Invalid path ${quote(path)}: ${why}`);
  };
  if (path === "" || path === ".") reject("empty");
  if (encoder.encode(path).length > MAX_PATH_BYTES) {
    reject(`longer than ${MAX_PATH_BYTES} bytes`);
  }
  if (path.search(CONTROL_CHARACTERS) !== -1) {
    reject("contains a control character");
  }
  // A lone surrogate has no UTF-8 form: on disk it would become U+FFFD, so
  // two different paths could name one file and dodge the duplicate check.
  if (!path.isWellFormed()) reject("is not valid Unicode");
  if (path.includes("\\")) reject("contains a backslash");
  if (path.startsWith("/")) reject("absolute");
  if (/^[A-Za-z]:/.test(path)) reject("starts with a drive letter");
  const names = path.split("/");
  if (names.length > MAX_PATH_DEPTH) {
    reject(`has more than ${MAX_PATH_DEPTH} components`);
  }
  for (const name of names) {
    if (name === "") reject("has an empty component");
    if (name === "." || name === "..") reject(`has a ${name} component`);
    if (encoder.encode(name).length > MAX_NAME_BYTES) {
      reject(`has a component longer than ${MAX_NAME_BYTES} bytes`);
    }
  }
  return path;
}

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

function decodeDecision(value: unknown, where: string): Decision {
  const object = record(value, where);
  const action = field(object, "action", where);
  switch (action) {
    case "send":
      return {
        action,
        offset: integer(object, "offset", where, 0, MAX_FILE_SIZE),
      };
    case "compare":
      return { action, replace: boolean(object, "replace", where) };
    case "accept":
      return { action };
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
  };
}

function messageType(object: Record<string, unknown>): string {
  const type = field(object, "type", "control message");
  if (typeof type !== "string") {
    throw new ProtocolError("Control message type is not a string");
  }
  return type;
}

/** Decodes and validates a control message the client sent. */
export function decodeClientMessage(payload: Uint8Array): ClientMessage {
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
        `Unknown control message type ${quote(type)} from client`,
      );
  }
}

/** Decodes and validates a control message the server sent. */
export function decodeServerMessage(payload: Uint8Array): ServerMessage {
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
        `Unknown control message type ${quote(type)} from server`,
      );
  }
}

/**
 * Checks a manifest as its parts arrive, so that no single step costs more
 * than the entries it adds: the entry count, unique paths, and that no
 * entry lies below a file. Throws {@link ProtocolError} on the first
 * problem.
 */
export class ManifestChecker {
  #kinds = new Map<string, EntryKind>();
  /** Each folder path some entry lies below, with the first such entry. */
  #parents = new Map<string, string>();

  /** Entries checked so far. */
  get count(): number {
    return this.#kinds.size;
  }

  /** Checks one more entry against all before it. */
  add(entry: Entry): void {
    const { path, kind } = entry;
    if (this.#kinds.has(path)) {
      throw new ProtocolError(`Manifest lists ${quote(path)} more than once`);
    }
    if (this.#kinds.size >= MAX_ENTRIES) {
      throw new ProtocolError(`Manifest has more than ${MAX_ENTRIES} entries`);
    }
    if (kind === "file") {
      const below = this.#parents.get(path);
      if (below !== undefined) {
        throw new ProtocolError(`Manifest puts ${quote(below)} below a file`);
      }
    }
    this.#kinds.set(path, kind);
    // From the nearest parent out; a parent already recorded had its own
    // parents recorded and checked when it was, so the walk stops there.
    let end = path.lastIndexOf("/");
    while (end !== -1) {
      const parent = path.slice(0, end);
      if (this.#kinds.get(parent) === "file") {
        throw new ProtocolError(`Manifest puts ${quote(path)} below a file`);
      }
      if (this.#parents.has(parent)) break;
      this.#parents.set(parent, path);
      end = path.lastIndexOf("/", end - 1);
    }
  }
}

/**
 * Checks a whole manifest: the entry count, unique paths, and that no entry
 * lies below a file. Throws {@link ProtocolError} on the first problem.
 */
export function checkManifest(entries: readonly Entry[]): void {
  const checker = new ManifestChecker();
  for (const entry of entries) checker.add(entry);
}
