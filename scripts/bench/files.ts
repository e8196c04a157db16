/**
 * The data sent: random files and trees of them, and the checks that what
 * arrived is what was sent, for every tool alike.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { writeAll } from "../../lib/common/write_all.ts";

/** Size and content hash of one file. */
export interface FileFacts {
  /** Length in bytes. */
  size: number;
  /** SHA-256, hex, or null when not hashed. */
  sha256: string | null;
}

/** Files of a tree by path relative to its root, with `/` separators. */
export type Manifest = Map<string, FileFacts>;

const MiB = 1024 * 1024;

/** Fills `chunk` with random bytes (64 KiB per call, the API's limit). */
function randomize(chunk: Uint8Array): void {
  for (let i = 0; i < chunk.length; i += 65536) {
    crypto.getRandomValues(chunk.subarray(i, i + 65536));
  }
}

/** Writes `bytes` random bytes, which no tool can compress, to `path`. */
export async function writeRandomFile(
  path: string,
  bytes: number,
): Promise<void> {
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const chunk = new Uint8Array(4 * MiB);
  for (let done = 0; done < bytes; done += chunk.length) {
    randomize(chunk);
    await writeAll(
      file,
      chunk.subarray(0, Math.min(chunk.length, bytes - done)),
    );
  }
}

/**
 * Creates `files` random files of `fileBytes` each under `root`, spread
 * evenly over `folders` folders `d000`, `d001`..., and returns their
 * manifest with hashes.
 */
export async function writeRandomTree(
  root: string,
  files: number,
  folders: number,
  fileBytes: number,
): Promise<Manifest> {
  const manifest: Manifest = new Map();
  // One writer per folder, at once: the disk work overlaps.
  await Promise.all(
    Array.from({ length: folders }, async (_, f) => {
      const folder = `d${String(f).padStart(3, "0")}`;
      await Deno.mkdir(join(root, folder), { recursive: true });
      const data = new Uint8Array(fileBytes);
      for (let i = f; i < files; i += folders) {
        const name = `${folder}/f${String(i).padStart(5, "0")}.bin`;
        await addRandomFile(root, name, data, manifest);
      }
    }),
  );
  return manifest;
}

/**
 * Fills `data` with new random bytes, writes them to `name` under `root`
 * and notes the file in `manifest`.
 */
async function addRandomFile(
  root: string,
  name: string,
  data: Uint8Array,
  manifest: Manifest,
): Promise<void> {
  randomize(data);
  await Deno.writeFile(join(root, name), data);
  manifest.set(name, {
    size: data.length,
    sha256: createHash("sha256").update(data).digest("hex"),
  });
}

/**
 * Creates `files` random files of `fileBytes` each under `root`, in `top`
 * folders `a0`, `a1`... of `sub` folders `b0`, `b1`... each, spread evenly
 * over the `top × sub` folders, and returns their manifest with hashes.
 */
export async function writeNestedTree(
  root: string,
  files: number,
  top: number,
  sub: number,
  fileBytes: number,
): Promise<Manifest> {
  const manifest: Manifest = new Map();
  const folders = top * sub;
  // One writer per top folder, at once: the disk work overlaps.
  await Promise.all(
    Array.from({ length: top }, async (_, a) => {
      const data = new Uint8Array(fileBytes);
      for (let b = 0; b < sub; b++) {
        const folder = `a${a}/b${b}`;
        await Deno.mkdir(join(root, folder), { recursive: true });
        for (let i = a * sub + b; i < files; i += folders) {
          await addRandomFile(root, `${folder}/f${i}.bin`, data, manifest);
        }
      }
    }),
  );
  return manifest;
}

/** SHA-256 of the file at `path`, hex, read in large chunks. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buffer = new Uint8Array(4 * MiB);
  for (;;) {
    const read = await file.read(buffer);
    if (read === null) break;
    hash.update(buffer.subarray(0, read));
  }
  return hash.digest("hex");
}

/** Every regular file under `root`, with sizes and, if `hash`, hashes. */
export async function readManifest(
  root: string,
  hash: boolean,
): Promise<Manifest> {
  const manifest: Manifest = new Map();
  const walk = async (dir: string): Promise<void> => {
    const folders: string[] = [];
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) {
        folders.push(path);
      } else if (entry.isFile) {
        const info = await Deno.stat(path);
        let sha256: string | null = null;
        // Small files at once: a large buffer for each would cost more.
        if (hash && info.size <= MiB) {
          sha256 = createHash("sha256").update(await Deno.readFile(path))
            .digest("hex");
        } else if (hash) {
          sha256 = await hashFile(path);
        }
        manifest.set(relative(root, path).replaceAll("\\", "/"), {
          size: info.size,
          sha256,
        });
      }
    }
    // Folders at once, files within one folder in turn.
    await Promise.all(folders.map(walk));
  };
  await walk(root);
  return manifest;
}

/**
 * Throws unless the files under `root` are exactly those of `expected`,
 * with the same sizes and, where both sides have one, the same hashes.
 * `what` names the tool in the message.
 */
export async function checkTree(
  what: string,
  root: string,
  expected: Manifest,
  hash: boolean,
): Promise<void> {
  const actual = await readManifest(root, hash);
  const problems: string[] = [];
  for (const [path, facts] of expected) {
    const got = actual.get(path);
    if (!got) problems.push(`${path} is missing`);
    else if (got.size !== facts.size) {
      problems.push(`${path} has ${got.size} bytes, not ${facts.size}`);
    } else if (got.sha256 && facts.sha256 && got.sha256 !== facts.sha256) {
      problems.push(`${path} differs`);
    }
  }
  for (const path of actual.keys()) {
    if (!expected.has(path)) problems.push(`${path} was not sent`);
  }
  if (problems.length > 0) {
    throw new Error(
      `${what} delivered wrong data (${problems.length} problems): ${
        problems.slice(0, 5).join("; ")
      }`,
    );
  }
}

/** Removes `path` and everything below it, if it exists. */
export async function removeAll(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}
