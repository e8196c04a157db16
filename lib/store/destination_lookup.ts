/**
 * What a session learns of the destination while it decides: which
 * entries clash with each other or with the staging folder on this file
 * system, whether each entry's folders are real folders, and what is at
 * each path, with each folder checked once and listed once when many
 * entries go into it.
 *
 * @module
 */

import fs from "node:fs";
import type { Entry } from "../protocol/messages.ts";
import { ManifestChecker } from "../protocol/paths.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { quote } from "../protocol/text.ts";
import type { DestinationRoot } from "./destination_root.ts";
import {
  errorCode,
  type FolderHandle,
  type FolderTree,
  NotAFolderError,
  parentOf,
} from "./folder_handle.ts";
import { Pacer } from "../common/pace.ts";

/** A folder not there yet: nothing below it exists either. */
const MISSING = Symbol("missing");

/** Lookups in one folder after which the folder is listed instead. */
const LIST_AFTER = 16;

/** Names of folder listings one session keeps at most. */
const MAX_LISTED_NAMES = 200_000;

/** One session's lookups in the destination. */
export class DestinationLookup {
  #root: DestinationRoot;
  #tree: FolderTree;
  /** Entries by name key, where the file system folds names. */
  #folded: ManifestChecker | null;
  /** Each folder's state: fine (null), missing, or why it is unusable. */
  #folders = new Map<string, string | null | typeof MISSING>();
  #lookups = new Map<string, number>();
  /** Name keys in each listed folder; null where listing was given up. */
  #listings = new Map<string, Set<string> | null>();
  #listed = 0;

  /** Lookups in `root`, reaching its folders through `tree`. */
  constructor(root: DestinationRoot, tree: FolderTree) {
    this.#root = root;
    this.#tree = tree;
    this.#folded = root.foldsNames ? new ManifestChecker() : null;
  }

  /**
   * Why `entry` cannot be taken whatever is on disk, or null: it clashes
   * with the staging folder or with another entry, or one of its folders
   * is a link or not a folder.
   */
  refusal(entry: Entry): string | null {
    const slash = entry.path.indexOf("/");
    const top = slash === -1 ? entry.path : entry.path.slice(0, slash);
    if (this.#root.isStagingName(top)) {
      return `${
        quote(top)
      } is the name of the ${this.#root.side}'s staging folder`;
    }
    if (this.#folded !== null) {
      try {
        this.#folded.add({ ...entry, path: this.#root.key(entry.path) });
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        const rules = this.#root.rules;
        return `it clashes with another entry of this transfer on this ${this.#root.side}, whose file system ignores ${
          rules.ignoresCase ? "case" : "Unicode normalization"
        }`;
      }
    }
    const state = this.#folderState(parentOf(entry.path));
    return state === MISSING ? null : state;
  }

  /**
   * What is at `relative`, not following a link, or undefined when
   * nothing is; call {@link refusal} first.
   */
  async lstat(relative: string): Promise<fs.Stats | undefined> {
    const folder = parentOf(relative);
    if (this.#folderState(folder) === MISSING) return undefined;
    const handle = this.#tree.get(folder);
    try {
      const names = await this.#listing(folder, handle);
      const name = relative.slice(relative.lastIndexOf("/") + 1);
      if (names !== null && !names.has(this.#root.key(name))) return undefined;
      return handle.lstat(name);
    } finally {
      handle.release();
    }
  }

  #folderState(folder: string): string | null | typeof MISSING {
    if (folder === "") return null;
    const cached = this.#folders.get(folder);
    if (cached !== undefined) return cached;
    let state = this.#folderState(parentOf(folder));
    if (state === null) {
      try {
        this.#tree.get(folder).release();
      } catch (error) {
        if (error instanceof NotAFolderError) {
          state = `${error.message} on the ${this.#root.side}`;
        } else if (errorCode(error) === "ENOENT") state = MISSING;
        else throw error;
      }
    }
    this.#folders.set(folder, state);
    return state;
  }

  /**
   * The name keys in `folder` once enough entries went into it to make
   * one listing cheaper than a lookup each; null until then, and for a
   * folder too large to keep.
   */
  async #listing(
    folder: string,
    handle: FolderHandle,
  ): Promise<Set<string> | null> {
    const listed = this.#listings.get(folder);
    if (listed !== undefined) return listed;
    const count = (this.#lookups.get(folder) ?? 0) + 1;
    this.#lookups.set(folder, count);
    if (count < LIST_AFTER || this.#listed >= MAX_LISTED_NAMES) return null;
    let names: Set<string> | null = new Set<string>();
    const pacer = new Pacer();
    const dir = fs.opendirSync(handle.self);
    try {
      for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
        names.add(this.#root.key(entry.name));
        if (this.#listed + names.size > MAX_LISTED_NAMES) {
          names = null;
          break;
        }
        await pacer.pace();
      }
    } finally {
      dir.closeSync();
    }
    if (names !== null) this.#listed += names.size;
    this.#listings.set(folder, names);
    return names;
  }
}
