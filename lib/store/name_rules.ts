/**
 * How the destination's file system compares names. macOS and Windows
 * ignore case by default, and macOS also treats the composed and
 * decomposed forms of an accented letter as one name; on such a disk
 * `Report.txt` and `report.txt` are one file. The server finds out by
 * trying, and claims, compares and deduplicates names the same way.
 *
 * @module
 */

import fs from "node:fs";
import type { FolderHandle } from "./folder_handle.ts";

/** How a file system compares two names. */
export interface NameRules {
  /** `A` and `a` name one file. */
  ignoresCase: boolean;
  /** `é` (U+00E9) and `e` + U+0301 name one file. */
  ignoresNormalization: boolean;
}

/** Names compared exactly, as on Linux file systems by default. */
export const EXACT_NAMES: NameRules = {
  ignoresCase: false,
  ignoresNormalization: false,
};

/**
 * The form under which two paths are the same on a file system with
 * `rules`. Where case is ignored the fold is coarser than most file
 * systems' (`ß` and `ss` fold together, say): two names taken as one at
 * worst refuses one of them, while two taken apart that the disk holds as
 * one could overwrite each other.
 */
export function nameKey(rules: NameRules, path: string): string {
  if (rules.ignoresCase) {
    return path.normalize("NFKC").toUpperCase().toLowerCase().normalize(
      "NFKC",
    );
  }
  return rules.ignoresNormalization ? path.normalize("NFC") : path;
}

/** Whether two names the file system may take as one are told apart here. */
export function isExact(rules: NameRules): boolean {
  return !rules.ignoresCase && !rules.ignoresNormalization;
}

/** Whether `other` reaches the file just made as `made` inside `folder`. */
function sameFile(folder: FolderHandle, made: string, other: string): boolean {
  const a = folder.lstat(made);
  const b = folder.lstat(other);
  return a !== undefined && b !== undefined && a.ino === b.ino &&
    a.dev === b.dev;
}

/**
 * Finds out how the file system of `folder` compares names, by creating
 * two probe files in it (a folder of the server's own) and looking them
 * up under other forms.
 */
export function probeNameRules(folder: FolderHandle): NameRules {
  const tag = crypto.randomUUID().slice(0, 8);
  const lower = `probe-${tag}-case`;
  const composed = `probe-${tag}-\u00e9`;
  const made: string[] = [];
  try {
    for (const name of [lower, composed]) {
      fs.closeSync(fs.openSync(folder.entry(name), "wx", 0o600));
      made.push(name);
    }
    return {
      ignoresCase: sameFile(folder, lower, lower.toUpperCase()),
      ignoresNormalization: sameFile(
        folder,
        composed,
        composed.normalize("NFD"),
      ),
    };
  } finally {
    for (const name of made) {
      fs.rmSync(folder.entry(name), { force: true });
    }
  }
}
