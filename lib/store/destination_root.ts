/**
 * What all sessions of one server share about its destination folder: the
 * folder itself, held open; its private staging folder; how its file
 * system compares names; and which paths sessions are receiving now.
 *
 * @module
 */

import fs from "node:fs";
import { basename, join, resolve } from "node:path";
import { publicMessage } from "../common/errors.ts";
import { osErrorCode, osReason } from "../common/os_errors.ts";
import { quote } from "../protocol/text.ts";
import { actsByDescriptor, FolderHandle } from "./folder_handle.ts";
import {
  isExact,
  nameKey,
  type NameRules,
  probeNameRules,
} from "./name_rules.ts";
import { type Side, Staging, STAGING_NAME } from "./staging.ts";
import type { IfDifferent } from "../protocol/messages.ts";

/**
 * Raised when the destination folder cannot be made or written: one line
 * naming the folder, the cause and the way out.
 */
export class DestinationUnusableError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "DestinationUnusableError";
  }
}

/**
 * What makes `path` unusable as the destination, after `error`, said with
 * the way out; the error itself when it is not one of the operating
 * system's.
 */
function unusable(error: unknown, path: string): unknown {
  const reason = osReason(error);
  if (reason === undefined) return error;
  switch (osErrorCode(error)) {
    case "EEXIST":
      return new DestinationUnusableError(
        `${path} is a file, not a folder: give --dir a folder, or a name not yet taken`,
      );
    case "ENOTDIR":
      return new DestinationUnusableError(
        `Cannot make the folder ${path}: part of that path is a file, not a folder; give --dir a folder, or a name not yet taken`,
      );
    case "EACCES":
    case "EPERM":
      return new DestinationUnusableError(
        `Cannot write into ${path}: ${reason} for this user; choose a --dir this user can write to, or give it write permission there (chown or chmod)`,
      );
    case "EROFS":
      return new DestinationUnusableError(
        `Cannot write into ${path}: ${reason}; choose a --dir on a writable disk`,
      );
    case "ENOSPC":
    case "EDQUOT":
      return new DestinationUnusableError(
        `Cannot write into ${path}: ${reason}; free some space, or choose a --dir on another disk`,
      );
  }
  return new DestinationUnusableError(`Cannot use ${path}: ${reason}`);
}

/**
 * Makes and removes an empty file in `folder`, which is writable when
 * that works; throws the error of the step that failed.
 */
function probeWrite(folder: FolderHandle): void {
  const name = `.ft-probe-${crypto.randomUUID()}`;
  const fd = fs.openSync(folder.entry(name), "wx", 0o600);
  fs.closeSync(fd);
  fs.unlinkSync(folder.entry(name));
}

/** The destination folder of a server. */
export class DestinationRoot {
  /** Absolute, symlink-free path of the folder. */
  readonly path: string;
  /** The folder, open. */
  readonly folder: FolderHandle;
  /** Its private staging folder. */
  readonly staging: Staging;
  /** How its file system compares names. */
  readonly rules: NameRules;
  /** Whether a different existing file may be replaced. */
  readonly overwrite: boolean;
  /**
   * What this side wants for a different file of the same name, when it
   * is not to be replaced: whatever the sender asks, it applies.
   */
  readonly ifDifferent: IfDifferent | undefined;
  /** Name keys of the files sessions are receiving now. */
  #busy = new Set<string>();
  /** Staging ids sessions hold now, which cleanup leaves alone. */
  #staged = new Set<string>();
  #stagingKey: string;

  private constructor(
    path: string,
    folder: FolderHandle,
    staging: Staging,
    rules: NameRules,
    overwrite: boolean,
    ifDifferent: IfDifferent | undefined,
  ) {
    this.ifDifferent = ifDifferent;
    this.path = path;
    this.folder = folder;
    this.staging = staging;
    this.rules = rules;
    this.overwrite = overwrite;
    this.#stagingKey = nameKey(rules, STAGING_NAME);
  }

  /**
   * Creates the folder at `path` if needed and opens it with its staging
   * folder, after checking that files can be saved there (a
   * {@link DestinationUnusableError} says why not); `rules` replaces what a
   * probe of the file system finds, for tests; `side` says whose folder it
   * is, in messages: the server's, or the client's that gets files;
   * `ifDifferent` is what this side wants for a different file of the same
   * name.
   */
  static async open(
    path: string,
    overwrite: boolean,
    rules?: NameRules,
    side: Side = "server",
    ifDifferent?: IfDifferent,
  ): Promise<DestinationRoot> {
    const shown = resolve(path);
    let real: string;
    let folder: FolderHandle;
    try {
      await Deno.mkdir(path, { recursive: true });
      real = await Deno.realPath(path);
      folder = FolderHandle.open(real);
    } catch (error) {
      throw unusable(error, shown);
    }
    let staging: Staging | undefined;
    try {
      probeWrite(folder);
      staging = Staging.open(folder, side);
      return new DestinationRoot(
        real,
        folder,
        staging,
        rules ?? probeNameRules(staging.folder),
        overwrite,
        ifDifferent,
      );
    } catch (error) {
      staging?.folder.release();
      folder.release();
      throw unusable(error, shown);
    }
  }

  /**
   * Why files cannot be saved into the folder now, in words the client
   * may read (the folder by its last name only), or null when they can:
   * a file is made and removed in it and in the staging folder, so that a
   * folder whose permissions changed or whose disk went read-only since
   * the start refuses a session before its data.
   */
  unwritable(): string | null {
    for (const folder of [this.folder, this.staging.folder]) {
      try {
        probeWrite(folder);
      } catch (error) {
        return `The server cannot save into its folder ${
          quote(basename(this.path))
        }: ${
          osReason(error) ?? publicMessage(error)
        }; nothing was sent: the server's side must make it writable or restart the server with another --dir`;
      }
    }
    return null;
  }

  /** Whose folder it is: what messages call this end. */
  get side(): Side {
    return this.staging.side;
  }

  /** The form under which this file system takes two paths as one. */
  key(path: string): string {
    return nameKey(this.rules, path);
  }

  /** Whether names that differ may still be one file here. */
  get foldsNames(): boolean {
    return !isExact(this.rules);
  }

  /** Whether a top-level `name` is the staging folder's. */
  isStagingName(name: string): boolean {
    return this.key(name) === this.#stagingKey;
  }

  /** Absolute path of a checked relative path. */
  absolute(relative: string): string {
    return join(this.path, ...relative.split("/"));
  }

  /** Claims `key` for one session; false when another holds it. */
  claim(key: string): boolean {
    if (this.#busy.has(key)) return false;
    this.#busy.add(key);
    return true;
  }

  /** Whether a session holds a claim on `key`. */
  isClaimed(key: string): boolean {
    return this.#busy.has(key);
  }

  /** Lets go of a claim. */
  unclaim(key: string): void {
    this.#busy.delete(key);
  }

  /** Marks staged data as in use by a session, or (`held` false) no longer. */
  holdStaged(id: string, held = true): void {
    if (held) this.#staged.add(id);
    else this.#staged.delete(id);
  }

  /** Whether a session holds the staged data `id`. */
  isStagedInUse(id: string): boolean {
    return this.#staged.has(id);
  }

  /**
   * What a user should know about this folder: whether other users may
   * write into it.
   */
  warnings(): string[] {
    if (Deno.build.os === "windows" || this.folder.fd === null) return [];
    const info = fs.fstatSync(this.folder.fd);
    const others = (info.mode & 0o022) !== 0;
    if (!others && info.uid === this.staging.uid) return [];
    const warnings = [
      `${this.path} can be written by other users: data is staged in a private folder until it is verified, but once saved, files there can be renamed or replaced by them`,
    ];
    if (!actsByDescriptor()) {
      warnings.push(
        `this ${this.side} cannot reach its folders by descriptor (Deno grants /proc/self/fd only with --allow-all, -A): it checks each folder by path, which leaves a short window to a user who can write into the destination`,
      );
    }
    return warnings;
  }

  /** Closes the folders. */
  close(): void {
    this.staging.folder.release();
    this.folder.release();
  }
}
