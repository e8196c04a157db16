/**
 * The server's private staging folder: where data gathers until it is
 * verified, and where the data of interrupted transfers is kept to be
 * resumed. It lives in the destination (so that a verified file moves to
 * its name in one step, on the same file system), is created 0700 and must
 * belong to the server's user, and is only ever reached through its open
 * descriptor: other local users can neither plant nor swap anything in it.
 *
 * Each destination path has one staging id, the SHA-256 of the path as the
 * destination compares names: `ID.part` holds the data, and `ID.rec`
 * records which path and which inode it is (staged_record.ts), so that data
 * is adopted only when it is exactly what the server itself wrote for that
 * path. On Linux a small file has no name at all until it is kept
 * (unnamed_files.ts).
 *
 * @module
 */

import fs from "node:fs";
import { quote } from "../protocol/text.ts";
import { FdFile, type Reopen } from "./fd_file.ts";
import { newHash } from "./hash.ts";
import {
  createUnnamed,
  linkDescriptor,
  UnnamedUnsupportedError,
} from "./unnamed_files.ts";
import {
  readStagedRecord,
  type StagedRecord,
  writeStagedRecord,
} from "./staged_record.ts";
import {
  actsByDescriptor,
  errorCode,
  type FileIdentity,
  FolderHandle,
  NotAFolderError,
} from "./folder_handle.ts";

const encoder = new TextEncoder();

/** Name of the staging folder inside the destination. */
export const STAGING_NAME = ".ft-staging";

/** Suffix of staged data. */
export const PART_SUFFIX = ".part";

/** Suffix of the record that says what staged data belongs to. */
export const RECORD_SUFFIX = ".rec";

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND } = fs.constants;
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

/** Which program a staging folder belongs to, as its messages say. */
export type Side = "server" | "client";

/** Raised when the staging folder or staged data cannot be trusted. */
export class StagingError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "StagingError";
  }
}

/** A staged file and the inode it was created as. */
export interface StagedFile {
  /** Its staging id. */
  id: string;
  /** Device of the inode. */
  dev: number;
  /** The inode. */
  ino: number;
}

/** Data kept from an interrupted transfer. */
export interface KeptData extends StagedFile {
  /** Its length in bytes. */
  length: number;
}

/** The staging id of a destination path, given as its name key. */
export function stagingId(key: string): string {
  // Through newHash, which hashes a short key in JavaScript: a native hash
  // per staged file held native memory until a full collection.
  return newHash().update(encoder.encode(key)).digest("hex");
}

function unlinkIfThere(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw error;
  }
}

/** The staging folder of one destination. */
export class Staging {
  /** The open folder. */
  readonly folder: FolderHandle;
  /** The server's user id, as the files it creates show it. */
  readonly uid: number;
  /** The server's umask, as the files it creates show it. */
  readonly umask: number;
  /** Whose folder it is: what its messages call this end. */
  readonly side: Side;
  /**
   * Ids that have a record: looking for kept data where there is none
   * then costs no failed open, each an exception in node:fs.
   */
  #recorded = new Set<string>();
  /** Whether unnamed files are to be tried. */
  #unnamed = true;

  private constructor(
    folder: FolderHandle,
    uid: number,
    umask: number,
    side: Side,
  ) {
    this.folder = folder;
    this.uid = uid;
    this.umask = umask;
    this.side = side;
    for (const name of fs.readdirSync(folder.self)) {
      if (name.endsWith(RECORD_SUFFIX)) {
        this.#recorded.add(name.slice(0, -RECORD_SUFFIX.length));
      }
    }
  }

  /**
   * Opens the staging folder inside `root`, creating it if needed, and
   * checks that it is a real folder of the server's own user that no one
   * else may enter, on the destination's file system; `side` says whose
   * it is, in messages.
   */
  static open(root: FolderHandle, side: Side = "server"): Staging {
    const shown = `${root.path}/${STAGING_NAME}`;
    try {
      fs.mkdirSync(root.entry(STAGING_NAME), { mode: 0o700 });
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error;
    }
    let folder: FolderHandle;
    try {
      folder = root.openFolder(STAGING_NAME);
    } catch (error) {
      if (error instanceof NotAFolderError) {
        throw new StagingError(
          `${error.message}, not the ${side}'s staging folder: remove it or choose another --dir`,
        );
      }
      throw error;
    }
    try {
      const { uid, umask } = Staging.#probe(folder, shown, side);
      const info = folder.fd === null
        ? fs.statSync(folder.path)
        : fs.fstatSync(folder.fd);
      if (Deno.build.os !== "windows") {
        if (info.uid !== uid || (info.mode & 0o077) !== 0) {
          throw new StagingError(
            `${shown} belongs to another user or is open to others (mode ${
              (info.mode & 0o777).toString(8)
            }): remove it or choose another --dir`,
          );
        }
      }
      if (info.dev !== root.dev) {
        throw new StagingError(
          `${shown} is on another file system than the destination: remove it or choose another --dir`,
        );
      }
      return new Staging(folder, uid, umask, side);
    } catch (error) {
      folder.release();
      throw error;
    }
  }

  /** The user and umask that files created here get. */
  static #probe(
    folder: FolderHandle,
    shown: string,
    side: Side,
  ): { uid: number; umask: number } {
    const name = `probe-${crypto.randomUUID()}`;
    let fd: number;
    try {
      fd = fs.openSync(
        folder.entry(name),
        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
        0o777,
      );
    } catch (error) {
      if (errorCode(error) === "EACCES" || errorCode(error) === "EPERM") {
        throw new StagingError(
          `Cannot write in ${shown}: it is not the ${side}'s own folder (remove it or choose another --dir)`,
        );
      }
      throw error;
    }
    try {
      const info = fs.fstatSync(fd);
      return { uid: info.uid, umask: ~info.mode & 0o777 };
    } finally {
      fs.closeSync(fd);
      unlinkIfThere(folder.entry(name));
    }
  }

  /** Path of the data of `id`, through the folder's descriptor. */
  partPath(id: string): string {
    return this.folder.entry(id + PART_SUFFIX);
  }

  #recordPath(id: string): string {
    return this.folder.entry(id + RECORD_SUFFIX);
  }

  /**
   * A new, empty staged file for `key`, replacing whatever was staged for
   * it before.
   */
  create(key: string): { staged: StagedFile; file: FdFile } {
    const id = stagingId(key);
    const open = () =>
      fs.openSync(
        this.partPath(id),
        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
        0o600,
      );
    let fd: number;
    try {
      // Most files have nothing staged: trying first costs no failed
      // deletions, each of which is an exception in node:fs.
      fd = open();
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error;
      this.remove(id);
      fd = open();
    }
    const file = new FdFile(fd, this.#reopen(fd, id, false));
    const info = file.identity();
    return { staged: { id, dev: info.dev, ino: info.ino }, file };
  }

  /**
   * A new, empty staged file without a name, which only its descriptor
   * reaches; null where none can be made (see unnamed_files.ts).
   */
  createUnnamed(): FdFile | null {
    if (!this.#unnamed) return null;
    let fd: number | null = null;
    try {
      fd = createUnnamed(this.folder.self, 0o600);
    } catch (error) {
      // Not tried again where each try would fail; after another failure
      // the file is made with a name, which says what is wrong if it is
      // still wrong.
      if (error instanceof UnnamedUnsupportedError) this.#unnamed = false;
    }
    if (fd === null) return null;
    return new FdFile(fd, { path: `/proc/self/fd/${fd}`, append: false });
  }

  /**
   * Gives the unnamed staged file `file` the staging name of `key`,
   * replacing whatever was staged for it before, so that it can be kept.
   */
  nameUnnamed(file: FdFile, key: string): StagedFile {
    const id = stagingId(key);
    this.remove(id);
    linkDescriptor(file.fd, this.partPath(id));
    const info = file.identity();
    return { id, dev: info.dev, ino: info.ino };
  }

  /**
   * Records that the staged file `staged` holds data of `key`, so that a
   * later session may resume from it.
   */
  writeRecord(key: string, staged: StagedFile): void {
    const record = { key, dev: staged.dev, ino: staged.ino };
    writeStagedRecord(this.#recordPath(staged.id), record);
    this.#recorded.add(staged.id);
  }

  /** Whether data of `key` may be kept, which a new file must replace. */
  mayHoldKept(key: string): boolean {
    return this.#recorded.size > 0 && this.#recorded.has(stagingId(key));
  }

  /**
   * The data kept for `key`, if there is any the server can trust: a
   * regular file of the server's user with one link, non-empty, the very
   * inode its record names for that key.
   */
  findKept(key: string): KeptData | null {
    // Nothing is kept, as is usual: no hash for each entry decided, whose
    // native memory would stay until the next full collection.
    if (this.#recorded.size === 0) return null;
    const id = stagingId(key);
    const record = this.#readRecord(id);
    if (record === null || record.key !== key) return null;
    const info = this.folder.identity(id + PART_SUFFIX);
    if (!this.#isOwn(info, record) || info.size === 0) return null;
    return { id, dev: info.dev, ino: info.ino, length: info.size };
  }

  /**
   * Opens kept data to read it (or, with `append`, to add to it), checking
   * that it is still the very file of exactly its length.
   */
  openKept(kept: KeptData, path: string, append: boolean): FdFile {
    const fd = fs.openSync(
      this.partPath(kept.id),
      (append ? O_WRONLY | O_APPEND : O_RDONLY) | O_NOFOLLOW,
    );
    const file = new FdFile(
      fd,
      append ? this.#reopen(fd, kept.id, true) : null,
    );
    const info = file.identity();
    if (!this.#isOwn(info, kept) || info.size !== kept.length) {
      file.close();
      throw new StagingError(
        `The kept data of ${quote(path)} changed on the ${this.side}`,
      );
    }
    return file;
  }

  /**
   * Where the staged file `id`, open as `fd`, can be opened again for
   * writing: through its own descriptor where Deno allows it, else by its
   * name (the file checks that it is the same inode).
   */
  #reopen(fd: number, id: string, append: boolean): Reopen {
    const path = actsByDescriptor() ? `/proc/self/fd/${fd}` : this.partPath(id);
    return { path, append };
  }

  /** Whether the staged data of `staged` is still that very file. */
  holds(staged: StagedFile): boolean {
    return this.#isOwn(this.folder.identity(staged.id + PART_SUFFIX), staged);
  }

  /** Deletes the data and record of `id`, if any. */
  remove(id: string): void {
    unlinkIfThere(this.partPath(id));
    this.removeRecord(id);
  }

  /**
   * Deletes the record of `id`, if any: its data is no longer kept. With
   * `listed`, the caller saw the record in the folder itself.
   */
  removeRecord(id: string, listed = false): void {
    if (!listed && !this.#recorded.has(id)) return;
    unlinkIfThere(this.#recordPath(id));
    this.#recorded.delete(id);
  }

  #isOwn(
    info: FileIdentity | undefined,
    expected: { dev: number; ino: number },
  ): info is FileIdentity {
    return info !== undefined && info.isFile && info.nlink === 1 &&
      (Deno.build.os === "windows" || info.uid === this.uid) &&
      info.dev === expected.dev && info.ino === expected.ino;
  }

  #readRecord(id: string): StagedRecord | null {
    if (!this.#recorded.has(id)) return null;
    return readStagedRecord(this.#recordPath(id));
  }
}
