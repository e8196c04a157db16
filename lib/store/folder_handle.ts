/**
 * Folders held open by descriptor, so that what the server creates,
 * renames and changes inside the destination stays inside the very folders
 * it checked, whatever another local user renames or swaps meanwhile.
 *
 * On Linux every entry is named through `/proc/self/fd/N/NAME`, which the
 * kernel resolves from the open folder itself, like the `*at` system calls;
 * elsewhere names are joined to the folder's path, and each folder is still
 * opened without following a link.
 *
 * @module
 */

import fs from "node:fs";
import { join } from "node:path";
import { quote } from "../protocol/text.ts";

const { O_RDONLY } = fs.constants;
// Not defined on Windows, where neither exists.
const O_DIRECTORY = fs.constants.O_DIRECTORY ?? 0;
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

/** Flags that open an existing folder and never a link in its place. */
const FOLDER_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** Raised when a path inside the destination is not a real folder. */
export class NotAFolderError extends Error {
  /** Whether a symbolic link is in the folder's place. */
  readonly isLink: boolean;

  /** Creates the error with a one-line message naming the path. */
  constructor(message: string, isLink: boolean) {
    super(message);
    this.name = "NotAFolderError";
    this.isLink = isLink;
  }
}

/** The `code` of a Node-style system error, such as "ENOENT". */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The folder part of a '/'-separated relative path; "" at the top. */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

/** The last component of a '/'-separated relative path. */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

let descriptorPaths: boolean | undefined;

/**
 * Whether entries can be named through their folder's descriptor here:
 * on Linux, where Deno grants `/proc/self/fd` only with all permissions.
 */
export function actsByDescriptor(): boolean {
  if (descriptorPaths === undefined) {
    try {
      descriptorPaths = Deno.build.os === "linux" &&
        fs.lstatSync("/proc/self/fd", { throwIfNoEntry: false }) !==
          undefined;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotCapable)) throw error;
      descriptorPaths = false;
    }
  }
  return descriptorPaths;
}

/** What the staging checks need to know of a file, cheap to find out. */
export interface FileIdentity {
  /** Device. */
  dev: number;
  /** Inode. */
  ino: number;
  /** Links to it. */
  nlink: number;
  /** Owner; -1 where the platform tells none. */
  uid: number;
  /** Whether it is a regular file. */
  isFile: boolean;
  /** Its size in bytes. */
  size: number;
}

function fromDeno(info: Deno.FileInfo): FileIdentity {
  return {
    dev: info.dev,
    ino: info.ino ?? 0,
    nlink: info.nlink ?? 1,
    uid: info.uid ?? -1,
    isFile: info.isFile,
    size: info.size,
  };
}

function fromNode(info: fs.Stats): FileIdentity {
  return {
    dev: info.dev,
    ino: info.ino,
    nlink: info.nlink,
    uid: info.uid,
    isFile: info.isFile(),
    size: info.size,
  };
}

/**
 * The identity of the file open as `fd`. On Linux it comes from the
 * descriptor's `/proc/self/fd` link, which the kernel resolves to the open
 * file itself, as `fstat` does: node:fs builds a Stats object with four
 * dates for each call, which cost most of the time of a small file.
 */
export function descriptorIdentity(fd: number): FileIdentity {
  return actsByDescriptor()
    ? fromDeno(Deno.statSync(`/proc/self/fd/${fd}`))
    : fromNode(fs.fstatSync(fd));
}

/** An open folder. */
export class FolderHandle {
  /** Its descriptor; null where folders cannot be opened (Windows). */
  readonly fd: number | null;
  /** The absolute path it had when it was opened, for messages. */
  readonly path: string;
  /** Device and inode, to recognise it. */
  readonly dev: number;
  /** See {@link dev}. */
  readonly ino: number;
  #references = 1;

  private constructor(fd: number | null, path: string, info: fs.Stats) {
    this.fd = fd;
    this.path = path;
    this.dev = info.dev;
    this.ino = info.ino;
  }

  /**
   * Opens the folder at the absolute path `path`, which must not be a link
   * itself (its parents may be).
   */
  static open(path: string): FolderHandle {
    return FolderHandle.#openAt(path, path);
  }

  static #openAt(name: string, path: string): FolderHandle {
    let fd: number | null = null;
    try {
      fd = fs.openSync(name, FOLDER_FLAGS);
    } catch (error) {
      const code = errorCode(error);
      if (code === "ENOENT") throw error;
      const info = fs.lstatSync(name, { throwIfNoEntry: false });
      if (info?.isSymbolicLink()) {
        throw new NotAFolderError(`${path} is a symbolic link`, true);
      }
      if (info !== undefined && !info.isDirectory()) {
        throw new NotAFolderError(`${path} is not a folder`, false);
      }
      // A system that cannot open folders at all: go by path.
      if (info === undefined || Deno.build.os !== "windows") throw error;
      return new FolderHandle(null, path, info);
    }
    return new FolderHandle(fd, path, fs.fstatSync(fd));
  }

  /** A path that names `name` inside this very folder. */
  entry(name: string): string {
    return this.fd !== null && actsByDescriptor()
      ? `/proc/self/fd/${this.fd}/${name}`
      : join(this.path, name);
  }

  /** A path that names this very folder, to list it. */
  get self(): string {
    return this.fd !== null && actsByDescriptor()
      ? `/proc/self/fd/${this.fd}`
      : this.path;
  }

  /** What `name` inside this folder is, not following a link; undefined if nothing. */
  lstat(name: string): fs.Stats | undefined {
    return fs.lstatSync(this.entry(name), { throwIfNoEntry: false });
  }

  /**
   * What `name` inside this folder is, not following a link, as far as
   * the staging checks need; undefined if nothing is there.
   */
  identity(name: string): FileIdentity | undefined {
    if (!actsByDescriptor()) {
      const info = this.lstat(name);
      return info === undefined ? undefined : fromNode(info);
    }
    try {
      return fromDeno(Deno.lstatSync(this.entry(name)));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  /** The folder `name` inside this one, never through a link. */
  openFolder(name: string): FolderHandle {
    return FolderHandle.#openAt(this.entry(name), join(this.path, name));
  }

  /**
   * The folder `name` inside this one, created with `mode` (less the
   * umask) if it is missing; `created` says whether this call made it.
   */
  makeFolder(
    name: string,
    mode: number,
  ): { folder: FolderHandle; created: boolean } {
    // Another user may take the folder away between the two calls; a few
    // tries make the folder again rather than fail the session for it.
    for (let attempt = 1;; attempt++) {
      let created = false;
      try {
        fs.mkdirSync(this.entry(name), { mode });
        created = true;
      } catch (error) {
        if (errorCode(error) !== "EEXIST") throw error;
      }
      try {
        return { folder: this.openFolder(name), created };
      } catch (error) {
        if (errorCode(error) !== "ENOENT" || attempt === 3) throw error;
      }
    }
  }

  /** Makes the entries of this folder durable. */
  async sync(): Promise<void> {
    const fd = this.fd;
    if (fd === null) return;
    await new Promise<void>((resolve, reject) =>
      fs.fsync(fd, (error) => error ? reject(error) : resolve())
    );
  }

  /** Counts one more holder, who must call {@link release} too. */
  retain(): this {
    this.#references++;
    return this;
  }

  /** Lets go of this handle; the last holder closes the descriptor. */
  release(): void {
    if (--this.#references > 0 || this.fd === null) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already closed: nothing left to release.
    }
  }
}

/** Folders of a tree kept open at most, beyond those in use. */
export const CACHED_FOLDERS = 64;

/**
 * The folders below one root, opened one component at a time from the
 * nearest folder already open, so that reaching a folder costs only its
 * components not reached before.
 */
export class FolderTree {
  /** The root, as given. */
  readonly root: FolderHandle;
  /**
   * Each open folder, with when it was last reached, by a count of
   * reaches: moving a folder to the end of the map on each reach made the
   * map rehash its table again and again, garbage that outlived young
   * collections.
   */
  #open = new Map<string, { folder: FolderHandle; reach: number }>();
  #reaches = 0;
  #mode: number;

  /** Folders below `root`; missing ones are made with `mode`. */
  constructor(root: FolderHandle, mode = 0o755) {
    this.root = root;
    this.#mode = mode;
  }

  /**
   * The folder `relative` ("" for the root), retained for the caller, who
   * releases it; with `create`, missing folders are made on the way, and
   * `onCreated` hears of each. A component that is a link or not a folder
   * raises a {@link NotAFolderError} naming it relative to the root, in
   * quotes.
   */
  get(
    relative: string,
    create = false,
    onCreated: (relative: string) => void = () => {},
  ): FolderHandle {
    if (relative === "") return this.root.retain();
    const cached = this.#open.get(relative);
    if (cached !== undefined) {
      cached.reach = ++this.#reaches;
      return cached.folder.retain();
    }
    const slash = relative.lastIndexOf("/");
    const parentPath = slash === -1 ? "" : relative.slice(0, slash);
    const parent = this.get(parentPath, create, onCreated);
    const name = relative.slice(slash + 1);
    let folder: FolderHandle;
    try {
      if (create) {
        const made = parent.makeFolder(name, this.#mode);
        folder = made.folder;
        if (made.created) onCreated(relative);
      } else {
        folder = parent.openFolder(name);
      }
    } catch (error) {
      if (!(error instanceof NotAFolderError)) throw error;
      throw new NotAFolderError(
        `${quote(relative)} is ${
          error.isLink ? "a symbolic link" : "not a folder"
        }`,
        error.isLink,
      );
    } finally {
      parent.release();
    }
    this.#open.set(relative, { folder, reach: ++this.#reaches });
    this.#trim();
    return folder.retain();
  }

  /** Closes every folder no caller holds any more. */
  close(): void {
    for (const { folder } of this.#open.values()) folder.release();
    this.#open.clear();
  }

  /** Closes the folder reached longest ago, beyond the cached ones. */
  #trim(): void {
    while (this.#open.size > CACHED_FOLDERS) {
      let oldest = "";
      let oldestReach = Infinity;
      for (const [relative, { reach }] of this.#open) {
        if (reach >= oldestReach) continue;
        oldest = relative;
        oldestReach = reach;
      }
      this.#open.get(oldest)!.folder.release();
      this.#open.delete(oldest);
    }
  }
}
