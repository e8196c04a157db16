/**
 * `client.ts HOST - --name NAME`: standard input is copied to a temporary
 * file first, so that it has a size for the manifest, is hashed like any
 * file, and can be resumed after a lost connection, which a pipe cannot.
 *
 * @module
 */

import { join } from "node:path";
import { writeAll } from "../common/write_all.ts";

/** Bytes read from standard input at a time. */
const CHUNK_SIZE = 1024 * 1024;

/** A copy of standard input on disk, deleted by `remove`. */
export interface StdinCopy {
  /** The temporary file. */
  path: string;
  /** Bytes read. */
  size: number;
  /** Deletes the temporary file and its folder. */
  remove(): void;
}

/**
 * Copies `input` (standard input by default) into a new private temporary
 * folder, as a file named `name`: a single file name, which the caller
 * checked.
 */
export async function copyStdin(
  name: string,
  input: { read(buffer: Uint8Array): Promise<number | null> } = Deno.stdin,
): Promise<StdinCopy> {
  const folder = await Deno.makeTempDir({ prefix: "ft-stdin-" });
  const remove = () => {
    try {
      Deno.removeSync(folder, { recursive: true });
    } catch {
      // Already gone.
    }
  };
  const path = join(folder, name);
  let size = 0;
  try {
    // The mode is what the receiver gives the file, as a file made by
    // `nc > file` would have it: the temporary folder is private already.
    using file = await Deno.open(path, {
      write: true,
      createNew: true,
      mode: 0o666,
    });
    const buffer = new Uint8Array(CHUNK_SIZE);
    for (;;) {
      const count = await input.read(buffer);
      if (count === null) break;
      await writeAll(file, buffer.subarray(0, count));
      size += count;
    }
  } catch (error) {
    remove();
    throw error;
  }
  return { path, size, remove };
}
