/**
 * Turns the client's source paths into manifest entries: files and folders,
 * recursively, never following symbolic links.
 *
 * @module
 */

import { basename, join, resolve } from "node:path";
import { MAX_ENTRIES, MAX_FILE_SIZE } from "../protocol/constants.ts";
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

/** What {@link scanSources} found. */
export interface Scan {
  /** Entries in manifest order: every folder before what it holds. */
  entries: LocalEntry[];
  /** Things skipped, one line each (symbolic links, special files). */
  warnings: string[];
}

function describeStatError(given: string, error: unknown): SourceError {
  // Local names are shown escaped like names from the network (bidi and
  // zero-width characters, controls).
  const path = sanitize(given);
  if (error instanceof Deno.errors.NotFound) {
    return new SourceError(`Cannot send ${path}: no such file or folder`);
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new SourceError(`Cannot send ${path}: permission denied`);
  }
  const why = error instanceof Error ? error.message : String(error);
  return new SourceError(`Cannot send ${path}: ${sanitize(why)}`);
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
 * with a warning.
 */
export async function scanSources(sources: readonly string[]): Promise<Scan> {
  const scan: Scan = { entries: [], warnings: [] };
  const topNames = new Map<string, string>();
  for (const given of sources) {
    const source = resolve(given);
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(source);
    } catch (error) {
      throw describeStatError(given, error);
    }
    if (info.isSymlink) {
      scan.warnings.push(
        `Skipping ${sanitize(given)}: a symbolic link, not followed`,
      );
      continue;
    }
    if (!info.isFile && !info.isDirectory) {
      throw new SourceError(
        `Cannot send ${sanitize(given)}: not a file or folder`,
      );
    }
    if (info.size > MAX_FILE_SIZE) {
      throw new SourceError(
        `Cannot send ${sanitize(given)}: larger than 1 PiB`,
      );
    }
    const name = basename(source);
    try {
      checkRelativePath(name);
    } catch (error) {
      throw new SourceError(
        `Cannot send ${sanitize(given)}: ${(error as ProtocolError).message}`,
      );
    }
    const other = topNames.get(name);
    if (other !== undefined) {
      throw new SourceError(
        `Cannot send both ${sanitize(other)} and ${
          sanitize(given)
        }: both would be named ${sanitize(name)}`,
      );
    }
    topNames.set(name, given);
    await checkReadable(given, source, info);
    scan.entries.push(toEntry(source, name, info));
    if (info.isDirectory) await walk(source, name, scan);
  }
  checkManifest(scan.entries);
  return scan;
}

async function checkReadable(
  given: string,
  source: string,
  info: Deno.FileInfo,
): Promise<void> {
  try {
    if (info.isDirectory) {
      for await (const _ of Deno.readDir(source)) break;
    } else {
      (await Deno.open(source, { read: true })).close();
    }
  } catch (error) {
    throw describeStatError(given, error);
  }
}

async function walk(folder: string, prefix: string, scan: Scan): Promise<void> {
  const children: Deno.DirEntry[] = [];
  try {
    for await (const child of Deno.readDir(folder)) children.push(child);
  } catch (error) {
    throw describeStatError(folder, error);
  }
  children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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
      scan.warnings.push(
        `Skipping ${sanitize(source)}: ${(error as ProtocolError).message}`,
      );
      continue;
    }
    let info: Deno.FileInfo;
    try {
      // Synchronous: a hand-off to a worker thread per file cost more than
      // the call itself when a tree holds thousands of files.
      info = Deno.lstatSync(source);
    } catch (error) {
      throw describeStatError(source, error);
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
        `Cannot send ${sanitize(source)}: larger than 1 PiB`,
      );
    }
    scan.entries.push(toEntry(source, path, info));
    if (scan.entries.length > MAX_ENTRIES) {
      throw new SourceError(
        `Cannot send more than ${MAX_ENTRIES} files and folders at once`,
      );
    }
    if (child.isDirectory) await walk(source, path, scan);
  }
}
