/**
 * The server's answer for each entry a client offers, and the check of
 * what the client proves it holds: both before any data flows, against
 * the destination as it is, claiming each file's path for the session.
 *
 * @module
 */

import fs from "node:fs";
import type { Decision, Entry, IfDifferent } from "../protocol/messages.ts";
import { publicMessage } from "../common/errors.ts";
import { quote } from "../protocol/text.ts";
import { type FolderTree, nameOf, parentOf } from "./folder_handle.ts";
import { type Hash, peekDigest } from "./hash.ts";
import { hashDescriptor } from "./fd_file.ts";
import { DestinationLookup } from "./destination_lookup.ts";
import type { DestinationRoot } from "./destination_root.ts";
import type { KeptData } from "./staging.ts";

// One object for all entries that get these decisions: a million of them
// would otherwise cost a small object each.
const ACCEPT: Decision = Object.freeze({ action: "accept" });
const SEND_WHOLE: Decision = Object.freeze({ action: "send", offset: 0 });
const COMPARE: Decision = Object.freeze({ action: "compare", replace: false });
const REPLACE: Decision = Object.freeze({ action: "compare", replace: true });

/** New names tried for a file that is saved under one, at most. */
export const MAX_NEW_NAMES = 99;

/**
 * `path` with ` (n)` added to its last name, before its extension
 * (`.tar.gz` counting as one): `photos/dup (1).jpg`, `notes (2)`,
 * `backup (1).tar.gz`, `.profile (1)`.
 */
export function numberedPath(path: string, n: number): string {
  const name = nameOf(path);
  const folder = path.slice(0, path.length - name.length);
  const split = name.match(/^(.+?)((?:\.tar)?\.[^.\s]{1,10})$/);
  const stem = split?.[1] ?? name;
  const extension = split?.[2] ?? "";
  return `${folder}${stem} (${n})${extension}`;
}

/** Kept data a client proved it shares, ready to be continued. */
export interface Resumable {
  /** The kept data. */
  kept: KeptData;
  /** The hash of its bytes, to continue with the rest of the file. */
  hash: Hash;
}

/** One session's decisions in a destination, and the paths they claim. */
export class DestinationDecisions {
  #root: DestinationRoot;
  #tree: FolderTree;
  #lookup: DestinationLookup;
  /** Name keys this session claimed (an array: a million cost 8 MB). */
  #claimed: string[] = [];
  /** Kept data offered for resumption, by path. */
  #kept = new Map<string, KeptData>();
  /** Kept data the client proved it shares, by path. */
  #resumable = new Map<string, Resumable>();
  /** Ids of the kept data this session offered, held from other sessions. */
  #held = new Set<string>();
  /** Files to save under a new name if they differ, by path. */
  #renaming = new Set<string>();
  /** The new name of each file saved, or already there, under one. */
  #savedAs = new Map<string, string>();
  /** Name keys given back before the end (see `withdraw`). */
  #withdrawn = new Set<string>();

  /** Decisions in `root`, reaching its folders through `tree`. */
  constructor(root: DestinationRoot, tree: FolderTree) {
    this.#root = root;
    this.#tree = tree;
    this.#lookup = new DestinationLookup(root, tree);
  }

  /**
   * Decides what to do with `entry`, claiming its path for this session so
   * that another client cannot write it at the same time; `requested` is
   * what the sender wants for a different file of the same name.
   */
  async decide(entry: Entry, requested?: IfDifferent): Promise<Decision> {
    try {
      return await this.#decide(entry, requested);
    } catch (error) {
      // A legal name can still be too long or otherwise unusable on this
      // file system: that refuses the entry, not the whole session.
      return {
        action: "refuse",
        reason: `cannot be saved here: ${publicMessage(error)}`,
      };
    }
  }

  async #decide(entry: Entry, requested?: IfDifferent): Promise<Decision> {
    const refusal = this.#lookup.refusal(entry);
    if (refusal !== null) return { action: "refuse", reason: refusal };
    const info = await this.#lookup.lstat(entry.path);
    const here = `in its place on the ${this.#root.side}`;
    if (entry.kind === "folder") {
      if (info === undefined || info.isDirectory()) return ACCEPT;
      return {
        action: "refuse",
        reason: info.isSymbolicLink()
          ? `a symbolic link is ${here}`
          : `a file is ${here}`,
      };
    }
    if (info !== undefined && !info.isFile()) {
      return {
        action: "refuse",
        reason: info.isSymbolicLink()
          ? `a symbolic link is ${here}`
          : `a folder or special file is ${here}`,
      };
    }
    const key = this.#root.key(entry.path);
    if (!this.#root.claim(key)) {
      return {
        action: "refuse",
        reason: "another client is sending this file right now",
        later: true,
      };
    }
    this.#claimed.push(key);
    if (info !== undefined) {
      // Keeping the file, as asked by either side, loses nothing: it
      // comes before this side's --overwrite.
      const ifDifferent = this.#root.ifDifferent ?? requested;
      if (ifDifferent === "rename") {
        this.#renaming.add(entry.path);
        return { action: "compare", replace: true, ifDifferent };
      }
      if (ifDifferent === "skip") {
        return { action: "compare", replace: false, ifDifferent };
      }
      return this.#root.overwrite ? REPLACE : COMPARE;
    }
    const kept = this.#root.staging.findKept(key);
    if (kept === null || kept.length > entry.size) return SEND_WHOLE;
    this.#held.add(kept.id);
    this.#root.holdStaged(kept.id);
    this.#kept.set(entry.path, kept);
    return { action: "send", offset: kept.length };
  }

  /**
   * Whether the server holds exactly the bytes the client hashed to
   * `sha256`: the kept data offered for a `send`, or the whole file in
   * place for a `compare`. Nothing is disclosed but the answer.
   */
  async prove(entry: Entry, sha256: string): Promise<boolean> {
    try {
      return await this.#prove(entry, sha256);
    } catch {
      // What cannot be read here (kept data that changed, a folder that is
      // no longer one) is not what the client holds: it sends the file.
      return false;
    }
  }

  async #prove(entry: Entry, sha256: string): Promise<boolean> {
    const kept = this.#kept.get(entry.path);
    if (kept !== undefined) {
      this.#kept.delete(entry.path);
      const file = this.#root.staging.openKept(kept, entry.path, false);
      try {
        const hash = await hashDescriptor(file.fd, kept.length);
        if (hash === null || peekDigest(hash) !== sha256) return false;
        this.#resumable.set(entry.path, { kept, hash });
        return true;
      } finally {
        file.close();
      }
    }
    if (await this.#sameAs(entry.path, entry.size, sha256)) return true;
    if (!this.#renaming.has(entry.path)) return false;
    return await this.#newName(entry, sha256);
  }

  /**
   * Finds the name a different `entry` is saved under: the first numbered
   * name (see {@link numberedPath}) that holds these very bytes (saved by
   * an earlier run: true, nothing to send) or is free and unclaimed (false,
   * claimed for this session); none past {@link MAX_NEW_NAMES}.
   */
  async #newName(entry: Entry, sha256: string): Promise<boolean> {
    for (let n = 1; n <= MAX_NEW_NAMES; n++) {
      const path = numberedPath(entry.path, n);
      const key = this.#root.key(path);
      if (this.#root.isClaimed(key)) continue;
      const info = await this.#lookup.lstat(path);
      if (info === undefined) {
        this.#root.claim(key);
        this.#claimed.push(key);
        this.#savedAs.set(entry.path, path);
        return false;
      }
      if (info.isFile() && await this.#sameAs(path, entry.size, sha256)) {
        this.#savedAs.set(entry.path, path);
        return true;
      }
    }
    return false;
  }

  /**
   * The new name `path` is saved under, or already there under; undefined
   * when it keeps its name.
   */
  savedAs(path: string): string | undefined {
    return this.#savedAs.get(path);
  }

  /**
   * The name a file whose data arrived is saved under: its own, or the new
   * one its proof found; throws for a file to be saved under a new name
   * that found none.
   */
  nameToSave(path: string): string {
    const saved = this.#savedAs.get(path);
    if (saved !== undefined) return saved;
    if (!this.#renaming.has(path)) return path;
    throw new Error(
      `Cannot save ${quote(path)} under a new name: none is free from ${
        quote(numberedPath(path, 1))
      } to ${quote(numberedPath(path, MAX_NEW_NAMES))}`,
    );
  }

  /**
   * Whether the file at `path` holds the `size` bytes hashed to `sha256`.
   * A file with more than one link may be a link to one outside the
   * destination: its content is never compared.
   */
  async #sameAs(path: string, size: number, sha256: string): Promise<boolean> {
    // Any failure answers false (see prove): a missing parent too.
    const folder = this.#tree.get(parentOf(path));
    let fd: number;
    try {
      // Not blocking: a FIFO swapped in would freeze every session.
      fd = fs.openSync(
        folder.entry(nameOf(path)),
        fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) |
          (fs.constants.O_NONBLOCK ?? 0),
      );
    } catch {
      return false;
    } finally {
      folder.release();
    }
    try {
      const info = fs.fstatSync(fd);
      if (!info.isFile() || info.nlink !== 1 || info.size !== size) {
        return false;
      }
      const hash = await hashDescriptor(fd, Infinity, info.size);
      return hash !== null && hash.digest("hex") === sha256;
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Takes the kept data the client proved it shares for `path`, if any,
   * out of the offers: the file's data continues it, or none is kept.
   */
  takeResumable(path: string): Resumable | undefined {
    const resumable = this.#resumable.get(path);
    this.#resumable.delete(path);
    this.#kept.delete(path);
    return resumable;
  }

  /**
   * Gives back the claim on the file at `path`, decided `send` or
   * `compare`, and the kept data offered for it, when that decision became
   * a refusal after all: another session may send it meanwhile.
   */
  withdraw(path: string): void {
    const key = this.#root.key(path);
    if (this.#withdrawn.has(key)) return;
    this.#withdrawn.add(key);
    this.#root.unclaim(key);
    this.#renaming.delete(path);
    const kept = this.#kept.get(path);
    if (kept === undefined) return;
    this.#kept.delete(path);
    this.#held.delete(kept.id);
    this.#root.holdStaged(kept.id, false);
  }

  /** Releases every path this session claimed and all kept data it held. */
  release(): void {
    for (const id of this.#held) this.#root.holdStaged(id, false);
    this.#held.clear();
    for (const key of this.#claimed) {
      if (!this.#withdrawn.has(key)) this.#root.unclaim(key);
    }
    this.#claimed = [];
    this.#withdrawn.clear();
  }
}
