/**
 * Small file systems for the full-disk tests: a tmpfs of a few MiB that a
 * test mounts (as root) and removes, and whether that works here at all.
 *
 * @module
 */

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
