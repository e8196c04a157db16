/**
 * The rules for what arrives in a manifest: each relative path on its own,
 * and the manifest as a whole (entry count, unique paths, nothing below a
 * file).
 *
 * @module
 */

import {
  MAX_ENTRIES,
  MAX_NAME_BYTES,
  MAX_PATH_BYTES,
  MAX_PATH_DEPTH,
} from "./constants.ts";
import type { Entry, EntryKind } from "./messages.ts";
import { ProtocolError } from "./protocol_error.ts";
import { quote, utf8ByteLength } from "./text.ts";

// C0 and C1 controls, DEL, and line and paragraph separators could drive a
// terminal or forge log lines.
// deno-lint-ignore no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Checks a relative path from the network and returns it unchanged, or
 * throws {@link ProtocolError} naming what is wrong with it.
 */
export function checkRelativePath(path: string): string {
  const reject = (why: string): never => {
    throw new ProtocolError(`Invalid path ${quote(path)}: ${why}`);
  };
  if (path === "" || path === ".") reject("empty");
  if (utf8ByteLength(path) > MAX_PATH_BYTES) {
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
    if (utf8ByteLength(name) > MAX_NAME_BYTES) {
      reject(`has a component longer than ${MAX_NAME_BYTES} bytes`);
    }
  }
  return path;
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
  add(entry: Pick<Entry, "path" | "kind">): void {
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
export function checkManifest(entries: Iterable<Entry>): void {
  const checker = new ManifestChecker();
  for (const entry of entries) checker.add(entry);
}
