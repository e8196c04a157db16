/**
 * Turns the client's source paths into manifest entries: files and folders,
 * recursively, never following symbolic links.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { MAX_ENTRIES, MAX_FILE_SIZE } from "../protocol/constants.ts";
import { EntryList } from "../protocol/entry_list.ts";
import type { Entry } from "../protocol/messages.ts";
import { checkManifest, checkRelativePath } from "../protocol/paths.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { sanitize } from "../protocol/text.ts";
import { SourceError } from "../common/errors.ts";

/** A manifest entry together with where it lives on the sending machine. */
export interface LocalEntry extends Entry {
  /** Absolute local path. */
  source: string;
  /** Device and inode at scan time, to notice a file swapped before sending. */
  identity: string;
}

/**
 * Scanned entries, kept as compactly as an {@link EntryList}: where each
 * one lives is its path below the folder its top-level source is in, and
 * its device and inode are numbers in typed arrays.
 */
export class LocalEntries extends EntryList {
  /** The folder each top-level source is in, by its name. */
  #folders = new Map<string, string>();
  #devices = new Float64Array(16);
  /** Inodes; NaN where the system has none. */
  #inodes = new Float64Array(16);

  /** A list of `entries`, none by default. */
  constructor(entries: Iterable<LocalEntry> = []) {
    super();
    for (const entry of entries) this.push(entry);
  }

  /**
   * Adds `entry` at the end and returns its index. A top-level entry (a
   * path of one name) says where its folder is; every entry below it must
   * be where its path says below that folder, as a scan finds it.
   */
  override push(entry: LocalEntry): number {
    const index = super.push(entry);
    if (!entry.path.includes("/")) {
      this.#folders.set(entry.path, dirname(entry.source));
    }
    if (index === this.#devices.length) {
      const devices = new Float64Array(index * 2);
      devices.set(this.#devices);
      this.#devices = devices;
      const inodes = new Float64Array(index * 2);
      inodes.set(this.#inodes);
      this.#inodes = inodes;
    }
    const [device, inode] = entry.identity.split(":");
    this.#devices[index] = Number(device);
    this.#inodes[index] = inode === "null" ? NaN : Number(inode);
    return index;
  }

  /** Absolute local path of entry `index`. */
  source(index: number): string {
    const path = this.path(index);
    const slash = path.indexOf("/");
    const top = slash === -1 ? path : path.slice(0, slash);
    return join(this.#folders.get(top)!, path);
  }

  /**
   * Entry `index` with where it lives, as an object of its own, which the
   * caller may keep.
   */
  local(index: number): LocalEntry {
    const inode = this.#inodes[index];
    return {
      ...this.get(index),
      source: this.source(index),
      identity: `${this.#devices[index]}:${Number.isNaN(inode) ? null : inode}`,
    };
  }
}

/** What the sources are scanned for, as their messages say it. */
export type Verb = "send" | "share";

/** What {@link scanSources} found. */
export interface Scan {
  /** Entries in manifest order: every folder before what it holds. */
  entries: LocalEntries;
  /** Things skipped, one line each (symbolic links, special files). */
  warnings: string[];
  /**
   * Files and folders inside the sources that cannot be sent, by their
   * path in the transfer (escaped for display): a name the
   * protocol cannot carry, a folder that cannot be read, an entry gone
   * since its folder was listed. Each also has its line in `warnings`;
   * unlike links and special files, which are never sent, they fail the
   * run.
   */
  unsent: string[];
}

function describeStatError(
  verb: Verb,
  given: string,
  error: unknown,
): SourceError {
  // Local names are shown escaped like names from the network (bidi and
  // zero-width characters, controls).
  return new SourceError(
    `Cannot ${verb} ${sanitize(given)}: ${statProblem(error)}`,
  );
}

function statProblem(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file or folder";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  return sanitize(error instanceof Error ? error.message : String(error));
}

function toEntry(
  source: string,
  path: string,
  info: Deno.FileInfo,
): LocalEntry {
  const kind = info.isDirectory ? "folder" : "file";
  const fallbackMode = info.isDirectory ? 0o755 : 0o644;
  return {
    source,
    identity: fileIdentity(info),
    path,
    kind,
    size: kind === "file" ? info.size : 0,
    mode: (info.mode ?? fallbackMode) & 0o7777,
    mtime: Math.trunc(info.mtime?.getTime() ?? Date.now()),
  };
}

/** A file's device and inode, as one comparable string. */
export function fileIdentity(info: Deno.FileInfo): string {
  return `${info.dev}:${info.ino}`;
}

/**
 * Lists `sources` as manifest entries named by their last component, with
 * folders walked recursively. A missing or unreadable source throws a
 * {@link SourceError}; links and special files inside folders are skipped
 * with a warning, and what inside them cannot be sent is left out with one
 * (`Scan.unsent`). Messages say `Cannot send` or, for `verb` "share",
 * `Cannot share`.
 */
export async function scanSources(
  sources: readonly string[],
  verb: Verb = "send",
): Promise<Scan> {
  const scan: Scan = {
    entries: new LocalEntries(),
    warnings: [],
    unsent: [],
  };
  const topNames = new Map<string, string>();
  for (const given of sources) {
    const source = resolve(given);
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(source);
    } catch (error) {
      throw describeStatError(verb, given, error);
    }
    if (info.isSymlink) {
      scan.warnings.push(
        `Skipping ${sanitize(given)}: a symbolic link, not followed`,
      );
      continue;
    }
    if (!info.isFile && !info.isDirectory) {
      throw new SourceError(
        `Cannot ${verb} ${sanitize(given)}: not a file or folder`,
      );
    }
    if (info.size > MAX_FILE_SIZE) {
      throw new SourceError(
        `Cannot ${verb} ${sanitize(given)}: larger than 1 PiB`,
      );
    }
    const name = basename(source);
    try {
      checkRelativePath(name);
    } catch (error) {
      throw new SourceError(
        `Cannot ${verb} ${sanitize(given)}: ${
          (error as ProtocolError).message
        }`,
      );
    }
    const other = topNames.get(name);
    if (other !== undefined) {
      throw new SourceError(
        `Cannot ${verb} both ${sanitize(other)} and ${
          sanitize(given)
        }: both would be named ${sanitize(name)}`,
      );
    }
    topNames.set(name, given);
    let children: Deno.DirEntry[] = [];
    try {
      if (info.isDirectory) children = await listFolder(source);
      else (await Deno.open(source, { read: true })).close();
    } catch (error) {
      throw describeStatError(verb, given, error);
    }
    scan.entries.push(toEntry(source, name, info));
    if (info.isDirectory) await walk(source, name, children, scan, verb);
  }
  checkManifest(scan.entries);
  return scan;
}

/** The entries of `folder`, sorted by name. */
async function listFolder(folder: string): Promise<Deno.DirEntry[]> {
  const children: Deno.DirEntry[] = [];
  for await (const child of Deno.readDir(folder)) children.push(child);
  children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return children;
}

/**
 * Whether `error`, from reading one entry inside a source, leaves that
 * entry out rather than stopping the scan: it cannot be read, or it went
 * away. Anything else (no file handle left, an I/O error) stops it.
 */
function leavesOut(error: unknown): boolean {
  return error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.NotFound;
}

function leaveOut(
  scan: Scan,
  verb: Verb,
  source: string,
  path: string,
  why: string,
): void {
  scan.warnings.push(`Cannot ${verb} ${sanitize(source)}: ${why}`);
  scan.unsent.push(sanitize(path));
}

async function walk(
  folder: string,
  prefix: string,
  children: Deno.DirEntry[],
  scan: Scan,
  verb: Verb,
): Promise<void> {
  for (const child of children) {
    const source = join(folder, child.name);
    const path = `${prefix}/${child.name}`;
    if (child.isSymlink) {
      scan.warnings.push(
        `Skipping ${sanitize(source)}: a symbolic link, not followed`,
      );
      continue;
    }
    if (!child.isFile && !child.isDirectory) {
      scan.warnings.push(
        `Skipping ${sanitize(source)}: not a regular file or folder`,
      );
      continue;
    }
    try {
      checkRelativePath(path);
    } catch (error) {
      leaveOut(scan, verb, source, path, (error as ProtocolError).message);
      continue;
    }
    let info: Deno.FileInfo;
    try {
      // Synchronous: a hand-off to a worker thread per file cost more than
      // the call itself when a tree holds thousands of files.
      info = Deno.lstatSync(source);
    } catch (error) {
      if (!leavesOut(error)) throw describeStatError(verb, source, error);
      leaveOut(scan, verb, source, path, statProblem(error));
      continue;
    }
    // It may have changed kind since the folder was listed.
    if (!info.isFile && !info.isDirectory) {
      scan.warnings.push(
        `Skipping ${sanitize(source)}: not a regular file or folder`,
      );
      continue;
    }
    if (info.size > MAX_FILE_SIZE) {
      throw new SourceError(
        `Cannot ${verb} ${sanitize(source)}: larger than 1 PiB`,
      );
    }
    let grandchildren: Deno.DirEntry[] = [];
    if (info.isDirectory) {
      try {
        grandchildren = await listFolder(source);
      } catch (error) {
        if (!leavesOut(error)) throw describeStatError(verb, source, error);
        // Its entry goes too: an empty folder on the other side would look
        // like all it holds.
        leaveOut(scan, verb, source, path, statProblem(error));
        continue;
      }
    }
    scan.entries.push(toEntry(source, path, info));
    if (scan.entries.length > MAX_ENTRIES) {
      throw new SourceError(
        `Cannot ${verb} more than ${MAX_ENTRIES} files and folders at once`,
      );
    }
    if (info.isDirectory) await walk(source, path, grandchildren, scan, verb);
  }
}
