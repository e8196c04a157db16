/**
 * The server's destination folder: decides what to do with each offered
 * entry, creates folders and temporary files without ever going through a
 * symbolic link, and promotes a verified temporary file to its final name.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { type Decision, type Entry, quote } from "../protocol.ts";
import { publicMessage } from "./errors.ts";
import type { FileStore, PartialFile as StoredPartial } from "./file_store.ts";
import {
  type Hash,
  hashFile,
  hashPrefix,
  newHash,
  peekDigest,
} from "./hash.ts";

/** Raised when a path on the server cannot be written safely. */
export class DestinationError extends Error {
  /** Creates the error with a one-line message naming the path. */
  constructor(message: string) {
    super(message);
    this.name = "DestinationError";
  }
}

/** Suffix of temporary files; such a file never has a final name. */
export const PARTIAL_SUFFIX = ".ftpart";

/** Bytes of the longest path Linux takes, its final NUL included. */
const PATH_MAX = 4096;

/** Longest file name most file systems take, in UTF-8 bytes. */
const MAX_NAME_BYTES = 255;

const encoder = new TextEncoder();

/** Paths being received right now, across all sessions of this process. */
const busyPaths = new Set<string>();

// Metadata calls are synchronous: each async one costs a hand-off to a
// worker thread, and with thousands of small files those hand-offs took
// longer than the transfer itself. They are quick on a local disk.

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** The longest prefix of `name` that takes at most `maxBytes` in UTF-8. */
function utf8Prefix(name: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of name) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return name.slice(0, end);
}

/**
 * The hidden name that the data of `name` gathers under until it is
 * verified: `.NAME.ftpart`, the same in every session so that an
 * interrupted transfer can go on. A name too long for that is cut, and a
 * hash of the whole name keeps it apart from others cut the same way.
 */
export function partialName(name: string): string {
  const room = MAX_NAME_BYTES - 1 - PARTIAL_SUFFIX.length;
  if (encoder.encode(name).length <= room) return `.${name}${PARTIAL_SUFFIX}`;
  const tag = createHash("sha256").update(name).digest("hex").slice(0, 16);
  return `.${utf8Prefix(name, room - 17)}.${tag}${PARTIAL_SUFFIX}`;
}

/** A temporary file in the destination folder, being written. */
export interface PartialFile extends StoredPartial {
  /** The open file, positioned at its end. */
  file: Deno.FsFile;
}

/** Data of a file kept from an interrupted session. */
interface Kept {
  /** Its length in bytes. */
  length: number;
  /** SHA-256 of those bytes, open for the rest. */
  hash: Hash;
  /** Identity of the partial file that was hashed. */
  identity: string;
}

function identityOf(info: Deno.FileInfo): string {
  return `${info.dev}:${info.ino}`;
}

/**
 * Creates the destination folder at `path` if needed and returns its
 * absolute, symlink-free path, to give to {@link Destination}.
 */
export async function prepareDestination(path: string): Promise<string> {
  await Deno.mkdir(path, { recursive: true });
  return await Deno.realPath(path);
}

/** One session's view of the folder files are received into. */
export class Destination implements FileStore {
  /** Absolute, symlink-free path of the folder. */
  readonly root: string;
  /** Whether a different existing file may be replaced. */
  readonly overwrite: boolean;
  #claimed = new Set<string>();
  /** Folders this session created, as relative paths. */
  #created = new Set<string>();
  /** Names in each folder looked at while deciding, by absolute path. */
  #listings = new Map<string, Set<string> | null>();
  /** Partial data offered for resumption, by relative path. */
  #kept = new Map<string, Kept>();
  /** Folders made or checked by this session, as relative paths. */
  #madeFolders = new Set<string>();
  /** Why each checked parent folder is unusable, or null, by path. */
  #parentChecks = new Map<string, string | null>();

  /** A view of `root`, as returned by {@link prepareDestination}. */
  constructor(root: string, overwrite: boolean) {
    this.root = root;
    this.overwrite = overwrite;
  }

  /** Any manifest may come: each entry is decided on its own. */
  refuseManifest(): string | null {
    return null;
  }

  /** Absolute path of a checked relative path. */
  absolute(relative: string): string {
    return join(this.root, ...relative.split("/"));
  }

  /**
   * Decides what to do with `entry`, claiming its path for this session so
   * that another client cannot write it at the same time.
   */
  async decide(entry: Entry): Promise<Decision> {
    try {
      return await this.#decide(entry);
    } catch (error) {
      // A legal name can still be too long or otherwise unusable on this
      // file system: that refuses the entry, not the whole session.
      return {
        action: "refuse",
        reason: `cannot be saved here: ${publicMessage(error)}`,
      };
    }
  }

  async #decide(entry: Entry): Promise<Decision> {
    const name = entry.path.split("/").pop()!;
    if (name.startsWith(".") && name.endsWith(PARTIAL_SUFFIX)) {
      return {
        action: "refuse",
        reason:
          `names like .NAME${PARTIAL_SUFFIX} are kept for unfinished files on the server`,
      };
    }
    const blocked = this.#checkParents(entry.path);
    if (blocked !== null) return { action: "refuse", reason: blocked };
    const target = this.absolute(entry.path);
    const info = this.#lstatListed(target);
    if (entry.kind === "folder") {
      if (info === null || info.isDirectory) return { action: "accept" };
      return {
        action: "refuse",
        reason: info.isSymlink
          ? "a symbolic link is in its place on the server"
          : "a file is in its place on the server",
      };
    }
    if (info !== null && !info.isFile) {
      return {
        action: "refuse",
        reason: info.isSymlink
          ? "a symbolic link is in its place on the server"
          : "a folder or special file is in its place on the server",
      };
    }
    if (busyPaths.has(target)) {
      return {
        action: "refuse",
        reason: "another client is sending this file right now",
        later: true,
      };
    }
    busyPaths.add(target);
    this.#claimed.add(target);
    if (info !== null && info.size === entry.size) {
      return {
        action: "compare",
        sha256: await hashFile(target),
        replace: this.overwrite,
      };
    }
    if (info !== null && !this.overwrite) {
      return {
        action: "refuse",
        reason:
          "a different file with this name exists on the server (start the server with --overwrite to replace it)",
      };
    }
    const kept = await this.#findKept(entry);
    if (kept === null) return { action: "send", offset: 0 };
    this.#kept.set(entry.path, kept);
    return {
      action: "send",
      offset: kept.length,
      sha256: peekDigest(kept.hash),
    };
  }

  /**
   * Hashes the data an interrupted session left for `entry`, if any: a
   * regular file no longer than the entry.
   */
  async #findKept(entry: Entry): Promise<Kept | null> {
    const path = this.#partialPath(entry.path);
    const info = this.#lstatListed(path);
    if (info === null || !info.isFile || info.size === 0) return null;
    if (info.size > entry.size) return null;
    using file = await Deno.open(path, { read: true });
    const opened = await file.stat();
    if (identityOf(opened) !== identityOf(info)) return null;
    const hash = await hashPrefix(file, info.size);
    if (hash === null) return null;
    return { length: info.size, hash, identity: identityOf(info) };
  }

  /**
   * lstat of `path` while deciding, or null when it does not exist; each
   * folder is listed once, so that thousands of new files cost no failed
   * lookups. What changes later is caught when the file is put in place.
   */
  #lstatListed(path: string): Deno.FileInfo | null {
    const folder = dirname(path);
    let names = this.#listings.get(folder);
    if (names === undefined) {
      names = new Set<string>();
      try {
        for (const entry of Deno.readDirSync(folder)) names.add(entry.name);
      } catch (error) {
        // A folder not made yet holds nothing; on anything else, ask about
        // each path instead.
        if (!(error instanceof Deno.errors.NotFound)) names = null;
      }
      this.#listings.set(folder, names);
    }
    // A path too long for the system still gets its error from the call.
    const fits = encoder.encode(path).length < PATH_MAX;
    if (names !== null && !names.has(basename(path)) && fits) return null;
    return lstatOrNull(path);
  }

  /** Absolute path of the partial file of `relative`. */
  #partialPath(relative: string): string {
    const name = relative.split("/").pop()!;
    return join(dirname(this.absolute(relative)), partialName(name));
  }

  /** Releases every path this session claimed. */
  release(): void {
    for (const path of this.#claimed) busyPaths.delete(path);
    this.#claimed.clear();
  }

  /**
   * Returns why a parent of `relative` is unusable, or null when none is;
   * once per folder and session, as entries share their folders.
   */
  #checkParents(relative: string): string | null {
    const folder = dirname(relative);
    let result = this.#parentChecks.get(folder);
    if (result === undefined) {
      result = this.#checkParentsOf(relative);
      this.#parentChecks.set(folder, result);
    }
    return result;
  }

  #checkParentsOf(relative: string): string | null {
    const names = relative.split("/");
    let current = this.root;
    for (let i = 0; i < names.length - 1; i++) {
      current = join(current, names[i]);
      const info = lstatOrNull(current);
      if (info === null) return null;
      if (info.isSymlink) {
        return `${
          quote(names.slice(0, i + 1).join("/"))
        } is a symbolic link on the server`;
      }
      if (!info.isDirectory) {
        return `${
          quote(names.slice(0, i + 1).join("/"))
        } is not a folder on the server`;
      }
    }
    return null;
  }

  /**
   * Creates the folder `relative` and its parents, refusing any link; a
   * folder this session already made is taken as it is, and each file's
   * rename checks its folder again.
   */
  makeFolder(relative: string): void {
    if (this.#madeFolders.has(relative)) return;
    let current = this.root;
    let currentRelative = "";
    for (const name of relative.split("/")) {
      current = join(current, name);
      currentRelative = currentRelative === ""
        ? name
        : `${currentRelative}/${name}`;
      try {
        Deno.mkdirSync(current, { mode: 0o755 });
        this.#created.add(currentRelative);
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
      const info = Deno.lstatSync(current);
      if (!info.isDirectory) {
        throw new DestinationError(
          `Cannot create folder ${quote(relative)}: ${quote(name)} is ${
            info.isSymlink ? "a symbolic link" : "not a folder"
          } on the server`,
        );
      }
    }
    this.#checkInside(current, relative);
    this.#madeFolders.add(relative);
  }

  /** Throws unless `absolute` still resolves to where `relative` belongs. */
  #checkInside(absolute: string, relative: string): void {
    const real = Deno.realPathSync(absolute);
    if (real !== this.absolute(relative)) {
      throw new DestinationError(
        `Refusing to write ${
          quote(relative)
        }: it resolves outside the destination`,
      );
    }
  }

  /**
   * Opens the temporary file of `entry` next to its final name: the data
   * kept from before when `offset` is its length, a new empty file when
   * `offset` is 0.
   */
  async createPartial(entry: Entry, offset: number): Promise<PartialFile> {
    const parent = dirname(entry.path);
    if (parent !== ".") this.makeFolder(parent);
    const path = this.#partialPath(entry.path);
    const kept = this.#kept.get(entry.path);
    this.#kept.delete(entry.path);
    if (offset > 0) {
      if (kept === undefined || kept.length !== offset) {
        throw new DestinationError(
          `No kept data of ${offset} bytes for ${quote(entry.path)}`,
        );
      }
      // Never through a link, and only the very file that was hashed.
      const info = Deno.lstatSync(path);
      const file = Deno.openSync(path, { write: true });
      const opened = await file.stat();
      if (
        !info.isFile || identityOf(opened) !== kept.identity ||
        opened.size !== offset
      ) {
        file.close();
        throw new DestinationError(
          `The kept data of ${quote(entry.path)} changed on the server`,
        );
      }
      await file.seek(offset, Deno.SeekMode.Start);
      return { entry, path, file, hash: kept.hash };
    }
    // A new file only: never one left there, nor a link in its place.
    const create = () =>
      Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
    try {
      return { entry, path, file: create(), hash: newHash() };
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    Deno.removeSync(path);
    return { entry, path, file: create(), hash: newHash() };
  }

  /**
   * Makes a verified partial file's data durable, closes it and gives it
   * the entry's mode and mtime. Many files may be sealed at once, so that
   * the disk flushes them together.
   */
  async seal(partial: PartialFile): Promise<void> {
    const { entry, path } = partial;
    try {
      await partial.file.syncData();
    } finally {
      this.keep(partial);
    }
    Deno.chmodSync(path, entry.mode & 0o777);
    const mtime = new Date(entry.mtime);
    Deno.utimeSync(path, mtime, mtime);
  }

  /**
   * Gives a sealed partial file its final name, never replacing what
   * appeared there meanwhile; returns the folder whose sync makes the
   * rename durable. Folders in `checked` were found inside the
   * destination moments ago and are not resolved again.
   */
  install(partial: PartialFile, checked = new Set<string>()): string {
    const { entry, path } = partial;
    const parent = dirname(entry.path);
    if (parent !== "." && !checked.has(parent)) {
      this.#checkInside(dirname(path), parent);
      checked.add(parent);
    }
    const target = this.absolute(entry.path);
    const info = lstatOrNull(target);
    if (info !== null && !(info.isFile && this.overwrite)) {
      // Something appeared there since the decision: never replace it.
      throw new DestinationError(
        `Cannot save ${
          quote(entry.path)
        }: something else appeared under its name`,
      );
    }
    Deno.renameSync(path, target);
    return dirname(target);
  }

  /** Makes the renames in `folders` durable, syncing each folder once. */
  async syncFolders(folders: Iterable<string>): Promise<void> {
    for (const path of new Set(folders)) {
      using folder = Deno.openSync(path, { read: true });
      await folder.sync();
    }
  }

  /** Seals, installs and syncs one verified partial file. */
  async promote(partial: PartialFile): Promise<void> {
    await this.seal(partial);
    await this.syncFolders([this.install(partial)]);
  }

  /** Closes and deletes a partial file whose data is of no use. */
  async discard(partial: PartialFile): Promise<void> {
    this.keep(partial);
    await Deno.remove(partial.path).catch(() => {});
  }

  /** Closes a partial file and leaves it for a later session to resume. */
  keep(partial: PartialFile): void {
    try {
      partial.file.close();
    } catch {
      // Already closed by promote.
    }
  }

  /**
   * Applies a folder's mode and mtime, once everything inside is written,
   * if this session created the folder.
   */
  async finishFolder(entry: Entry): Promise<void> {
    // A folder that was already there keeps its mode and time: the client
    // must not loosen the permissions of what it did not create.
    if (!this.#created.has(entry.path)) return;
    const path = this.absolute(entry.path);
    const info = await Deno.lstat(path);
    if (!info.isDirectory) return;
    await Deno.chmod(path, entry.mode & 0o777);
    const mtime = new Date(entry.mtime);
    await Deno.utime(path, mtime, mtime);
  }
}
