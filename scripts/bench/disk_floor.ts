/**
 * The disk work of receiving a tree, alone: what the receiver must do for
 * every file even with an infinitely fast network and no encryption or
 * hashing. Run as its own Deno process, so that its time includes a start
 * like every other row:
 *
 *     deno run -A scripts/bench/disk_floor.ts SOURCE DEST sync|nosync
 *
 * Each file is read, written under a temporary name, flushed with
 * fdatasync (32 at once, as the receiver does; not with `nosync`), given
 * its mode and time, and renamed; each folder is synced once at the end.
 *
 * @module
 */

import { basename, join, relative } from "node:path";
import { type Context, Launched } from "./process.ts";
import { ROOT } from "./ours.ts";
import type { Sample } from "./stats.ts";

/** Files flushed at the same time, as the receiver's SEAL_PARALLEL. */
const PARALLEL = 32;

/** Every file under `folder`, depth first. */
function* files(folder: string): Generator<string> {
  for (const entry of Deno.readDirSync(folder)) {
    const path = join(folder, entry.name);
    if (entry.isDirectory) yield* files(path);
    else if (entry.isFile) yield path;
  }
}

/** Copies the tree at `source` into `dest` the way the receiver writes. */
async function copyTree(
  source: string,
  dest: string,
  sync: boolean,
): Promise<void> {
  const root = join(dest, basename(source));
  const folders = new Set<string>([root]);
  let pending: Promise<void>[] = [];
  const made = new Set<string>();
  for (const path of files(source)) {
    const target = join(root, relative(source, path));
    const folder = join(target, "..");
    if (!made.has(folder)) {
      Deno.mkdirSync(folder, { recursive: true });
      made.add(folder);
      folders.add(folder);
    }
    const data = Deno.readFileSync(path);
    const temporary = join(folder, `.${basename(target)}.ftpart`);
    const file = Deno.openSync(temporary, {
      write: true,
      createNew: true,
      mode: 0o600,
    });
    let written = 0;
    while (written < data.length) {
      written += file.writeSync(data.subarray(written));
    }
    const finish = async () => {
      if (sync) await file.syncData();
      file.close();
      Deno.chmodSync(temporary, 0o644);
      const now = new Date();
      Deno.utimeSync(temporary, now, now);
      Deno.renameSync(temporary, target);
    };
    pending.push(finish());
    if (pending.length >= PARALLEL) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  if (!sync) return;
  for (const folder of folders) {
    using handle = Deno.openSync(folder, { read: true });
    await handle.sync();
  }
}

/** Runs the disk work for `source` into `dest` as its own process. */
export async function runDiskFloor(
  ctx: Context,
  source: string,
  dest: string,
  sync: boolean,
): Promise<Sample> {
  const started = performance.now();
  const process = new Launched(ctx, "disk floor", Deno.execPath(), [
    "run",
    "-A",
    join(ROOT, "scripts", "bench", "disk_floor.ts"),
    source,
    dest,
    sync ? "sync" : "nosync",
  ]);
  try {
    await process.succeed();
  } finally {
    await process.kill();
  }
  return {
    seconds: (performance.now() - started) / 1000,
    rss: [null, await process.peakRssKiB()],
  };
}

if (import.meta.main) {
  const [source, dest, mode] = Deno.args;
  await copyTree(source, dest, mode !== "nosync");
}
