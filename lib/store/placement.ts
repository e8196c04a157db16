/**
 * Putting a verified staged file under its name in a folder held open by
 * descriptor, never over something that appeared there meanwhile: from
 * its staging name by a hard link (or, where there are none, a rename
 * after a check), or from its descriptor when it has no name yet.
 *
 * @module
 */

import fs from "node:fs";
import { quote } from "../protocol/text.ts";
import type { FdFile } from "./fd_file.ts";
import { errorCode, type FolderHandle, nameOf } from "./folder_handle.ts";
import { linkDescriptor } from "./unnamed_files.ts";

/** Raised when a path in the destination cannot be written safely. */
export class DestinationError extends Error {
  /** Creates the error with a one-line message naming the path. */
  constructor(message: string) {
    super(message);
    this.name = "DestinationError";
  }
}

/** Whether `error` says the file system cannot make hard links. */
function noLinks(error: unknown): boolean {
  const code = errorCode(error);
  return code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" ||
    code === "ENOSYS" || code === "EMLINK";
}

function taken(relative: string): DestinationError {
  return new DestinationError(
    `Cannot save ${quote(relative)}: something else appeared under its name`,
  );
}

/**
 * Moves the staged file at `from` to `relative`'s name in `folder`; with
 * `replace`, over a regular file there.
 */
export function placeNamed(
  from: string,
  folder: FolderHandle,
  relative: string,
  replace: boolean,
): void {
  const target = folder.entry(nameOf(relative));
  if (!replace) {
    // A link fails if anything is there, where a rename would replace it.
    try {
      fs.linkSync(from, target);
      fs.unlinkSync(from);
      return;
    } catch (error) {
      if (errorCode(error) === "EEXIST") throw taken(relative);
      if (!noLinks(error)) throw error;
    }
  }
  const info = folder.lstat(nameOf(relative));
  if (info !== undefined && !(info.isFile() && replace)) {
    throw taken(relative);
  }
  fs.renameSync(from, target);
}

/**
 * Gives the unnamed staged `file` `relative`'s name in `folder`, from its
 * descriptor: only ever the very file that was written, and never over
 * anything.
 */
export function placeUnnamed(
  file: FdFile,
  folder: FolderHandle,
  relative: string,
): void {
  try {
    linkDescriptor(file.fd, folder.entry(nameOf(relative)));
  } catch (error) {
    if (errorCode(error) === "EEXIST") throw taken(relative);
    throw error;
  }
}
