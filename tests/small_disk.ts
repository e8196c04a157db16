/**
 * Small file systems that a test mounts (as root) and removes, and
 * whether that works here at all: a tmpfs of a few MiB for the full-disk
 * tests, and an NTFS image mounted case-insensitive for the name rules.
 *
 * @module
 */

import { join } from "node:path";
import { tempDir } from "./helpers.ts";

async function run(command: string, args: string[]): Promise<string | null> {
  try {
    const output = await new Deno.Command(command, { args, stderr: "piped" })
      .output();
    if (output.success) return null;
    return new TextDecoder().decode(output.stderr).trim() ||
      `${command} failed`;
  } catch (error) {
    return String(error);
  }
}

/** A tmpfs of `megabytes` MiB, unmounted and removed on dispose. */
export async function smallDisk(
  megabytes: number,
): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "ft-disk-" });
  const failure = await run("mount", [
    "-t",
    "tmpfs",
    "-o",
    `size=${megabytes}m`,
    "tmpfs",
    path,
  ]);
  if (failure !== null) {
    await Deno.remove(path);
    throw new Error(failure);
  }
  return {
    path,
    async [Symbol.asyncDispose]() {
      await run("umount", [path]);
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** Why no tmpfs can be mounted here, or null when one can. */
export function smallDiskUnavailable(): Promise<string | null> {
  return smallDisk(1).then(
    async (disk) => {
      await disk[Symbol.asyncDispose]();
      return null;
    },
    (error) => String(error.message ?? error),
  );
}

/** Why no NTFS disk can be mounted here, or null when one can. */
export async function ntfsAvailable(): Promise<string | null> {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return "not root";
  for (const tool of ["mkntfs", "lowntfs-3g"]) {
    const found = await new Deno.Command("sh", {
      args: ["-c", `command -v ${tool}`],
    }).output();
    if (!found.success) return `${tool} is not installed (package ntfs-3g)`;
  }
  return null;
}

/** A small NTFS file system mounted case-insensitive, for the test. */
export async function caseInsensitiveDisk(): Promise<
  { path: string } & AsyncDisposable
> {
  const folder = await tempDir();
  const image = join(folder.path, "ntfs.img");
  const path = join(folder.path, "mnt");
  await Deno.mkdir(path);
  const run = async (command: string, args: string[]) => {
    const result = await new Deno.Command(command, { args }).output();
    if (!result.success) {
      throw new Error(
        `${command} failed: ${new TextDecoder().decode(result.stderr)}`,
      );
    }
  };
  await run("truncate", ["-s", "16M", image]);
  await run("mkntfs", ["-q", "-F", "-f", image]);
  await run("lowntfs-3g", ["-o", "ignore_case,permissions", image, path]);
  return {
    path,
    async [Symbol.asyncDispose]() {
      await run("umount", [path]).catch(() => {});
      await folder[Symbol.asyncDispose]();
    },
  };
}
