/**
 * The server's destination folder: decides what to do with each offered
 * entry, creates folders and temporary files without ever going through a
 * symbolic link, and promotes a verified temporary file to its final name.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { type Decision, type Entry, quote } from "../protocol.ts";
import { publicMessage } from "./errors.ts";
import { hashFile } from "./hash.ts";

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

/** Paths being received right now, across all sessions of this process. */
const busyPaths = new Set<string>();

async function lstatOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
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

/** A temporary file being written for one entry. */
export interface PartialFile {
  /** The entry it will become. */
  entry: Entry;
  /** Absolute path of the temporary file. */
  path: string;
  /** The open file. */
  file: Deno.FsFile;
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
export class Destination {
  /** Absolute, symlink-free path of the folder. */
  readonly root: string;
  /** Whether a different existing file may be replaced. */
  readonly overwrite: boolean;
  #claimed = new Set<string>();
  /** Folders this session created, as relative paths. */
  #created = new Set<string>();

  /** A view of `root`, as returned by {@link prepareDestination}. */
  constructor(root: string, overwrite: boolean) {
    this.root = root;
    this.overwrite = overwrite;
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
    const blocked = await this.#checkParents(entry.path);
    if (blocked !== null) return { action: "refuse", reason: blocked };
    const target = this.absolute(entry.path);
    const info = await lstatOrNull(target);
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
      };
    }
    busyPaths.add(target);
    this.#claimed.add(target);
    if (info === null) return { action: "send", offset: 0 };
    if (info.size === entry.size) {
      return {
        action: "compare",
        sha256: await hashFile(target),
        replace: this.overwrite,
      };
    }
    if (this.overwrite) return { action: "send", offset: 0 };
    return {
      action: "refuse",
      reason:
        "a different file with this name exists on the server (start the server with --overwrite to replace it)",
    };
  }

  /** Releases every path this session claimed. */
  release(): void {
    for (const path of this.#claimed) busyPaths.delete(path);
    this.#claimed.clear();
  }

  /** Returns why a parent of `relative` is unusable, or null when none is. */
  async #checkParents(relative: string): Promise<string | null> {
    const names = relative.split("/");
    let current = this.root;
    for (let i = 0; i < names.length - 1; i++) {
      current = join(current, names[i]);
      const info = await lstatOrNull(current);
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

  /** Creates the folder `relative` and its parents, refusing any link. */
  async makeFolder(relative: string): Promise<void> {
    let current = this.root;
    let currentRelative = "";
    for (const name of relative.split("/")) {
      current = join(current, name);
      currentRelative = currentRelative === ""
        ? name
        : `${currentRelative}/${name}`;
      try {
        await Deno.mkdir(current, { mode: 0o755 });
        this.#created.add(currentRelative);
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
      const info = await Deno.lstat(current);
      if (!info.isDirectory) {
        throw new DestinationError(
          `Cannot create folder ${quote(relative)}: ${quote(name)} is ${
            info.isSymlink ? "a symbolic link" : "not a folder"
          } on the server`,
        );
      }
    }
    await this.#checkInside(current, relative);
  }

  /** Throws unless `absolute` still resolves to where `relative` belongs. */
  async #checkInside(absolute: string, relative: string): Promise<void> {
    const real = await Deno.realPath(absolute);
    if (real !== this.absolute(relative)) {
      throw new DestinationError(
        `Refusing to write ${
          quote(relative)
        }: it resolves outside the destination`,
      );
    }
  }

  /** Creates a new temporary file for `entry` next to its final name. */
  async createPartial(entry: Entry): Promise<PartialFile> {
    const parent = dirname(entry.path);
    if (parent !== ".") await this.makeFolder(parent);
    const name = entry.path.split("/").pop()!;
    const random = crypto.randomUUID().slice(0, 8);
    // Leading dot and suffix keep the partial out of the way; the name is
    // capped at 200 UTF-8 bytes so that a 255-byte final name still yields
    // a legal one (1 + 200 + 1 + 8 + 7 bytes).
    const path = join(
      dirname(this.absolute(entry.path)),
      `.${utf8Prefix(name, 200)}.${random}${PARTIAL_SUFFIX}`,
    );
    const file = await Deno.open(path, {
      write: true,
      createNew: true,
      mode: 0o600,
    });
    return { entry, path, file };
  }

  /**
   * Makes a verified partial file durable and gives it its final name,
   * mode and mtime.
   */
  async promote(partial: PartialFile): Promise<void> {
    const { entry, file, path } = partial;
    await file.sync();
    file.close();
    await Deno.chmod(path, entry.mode & 0o777);
    const mtime = new Date(entry.mtime);
    await Deno.utime(path, mtime, mtime);
    const parent = dirname(entry.path);
    if (parent !== ".") await this.#checkInside(dirname(path), parent);
    const target = this.absolute(entry.path);
    const info = await lstatOrNull(target);
    if (info !== null && !(info.isFile && this.overwrite)) {
      // Something appeared there since the decision: never replace it.
      throw new DestinationError(
        `Cannot save ${
          quote(entry.path)
        }: something else appeared under its name`,
      );
    }
    await Deno.rename(path, target);
    // The rename is durable only once the folder holding it is synced.
    using folder = await Deno.open(dirname(target), { read: true });
    await folder.sync();
  }

  /** Closes and deletes a partial file that will not be completed. */
  async discard(partial: PartialFile): Promise<void> {
    try {
      partial.file.close();
    } catch {
      // Already closed by promote.
    }
    await Deno.remove(partial.path).catch(() => {});
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
