/**
 * The server's answer for each entry a client offers, and the check of
 * what the client proves it holds: both before any data flows, against
 * the destination as it is, claiming each file's path for the session.
 *
 * @module
 */

import fs from "node:fs";
import type { Decision, Entry } from "../protocol/messages.ts";
import { publicMessage } from "../common/errors.ts";
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

  /** Decisions in `root`, reaching its folders through `tree`. */
  constructor(root: DestinationRoot, tree: FolderTree) {
    this.#root = root;
    this.#tree = tree;
    this.#lookup = new DestinationLookup(root, tree);
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
    const refusal = this.#lookup.refusal(entry);
    if (refusal !== null) return { action: "refuse", reason: refusal };
    const info = await this.#lookup.lstat(entry.path);
    if (entry.kind === "folder") {
      if (info === undefined || info.isDirectory()) return ACCEPT;
      return {
        action: "refuse",
        reason: info.isSymbolicLink()
          ? `a symbolic link is in its place on the ${this.#root.side}`
          : `a file is in its place on the ${this.#root.side}`,
      };
    }
    if (info !== undefined && !info.isFile()) {
      return {
        action: "refuse",
        reason: info.isSymbolicLink()
          ? `a symbolic link is in its place on the ${this.#root.side}`
          : `a folder or special file is in its place on the ${this.#root.side}`,
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
    return await this.#sameAsInPlace(entry, sha256);
  }

  /**
   * Whether the file in place of `entry` holds the bytes hashed to
   * `sha256`. A file with more than one link may be a link to one outside
   * the destination: its content is never compared.
   */
  async #sameAsInPlace(entry: Entry, sha256: string): Promise<boolean> {
    // Any failure answers false (see prove): a missing parent too.
    const folder = this.#tree.get(parentOf(entry.path));
    let fd: number;
    try {
      // Not blocking: a FIFO swapped in would freeze every session.
      fd = fs.openSync(
        folder.entry(nameOf(entry.path)),
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
      if (!info.isFile() || info.nlink !== 1 || info.size !== entry.size) {
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

  /** Releases every path this session claimed and all kept data it held. */
  release(): void {
    for (const id of this.#held) this.#root.holdStaged(id, false);
    this.#held.clear();
    for (const key of this.#claimed) this.#root.unclaim(key);
    this.#claimed = [];
  }
}
