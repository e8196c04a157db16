/**
 * A local attacker for the tests: another user of the machine (`nobody`,
 * by setpriv) who can write into a folder of the destination and plants,
 * swaps and links things there while the program, running as root,
 * receives files.
 *
 * @module
 */

import { join } from "node:path";
import { ROOT } from "./helpers.ts";

/** The attacker's user and group. */
export const NOBODY = 65534;

/** Why the attacker cannot run here, or null when it can. */
export async function attackerAvailable(): Promise<string | null> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not running as root";
  const probe = await new Deno.Command("setpriv", {
    args: [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "true"],
  }).output().catch(() => null);
  return probe?.success ? null : "setpriv cannot switch to nobody here";
}

/** Runs `script` with sh as the attacker, in the background. */
export function attacker(script: string): Deno.ChildProcess {
  return new Deno.Command("setpriv", {
    args: [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      "sh",
      "-c",
      script,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs `script` as the attacker to its end; returns its exit and output. */
export async function asAttacker(
  script: string,
): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await attacker(script).output();
  const text = new TextDecoder();
  return { code, output: text.decode(stdout) + text.decode(stderr) };
}

/**
 * A root the attacker can reach: `dest` (the server's, 0755), with
 * `dest/shared` writable by all, and `outside` (the attacker's own).
 */
export async function layout(root: string): Promise<
  { dest: string; shared: string; outside: string }
> {
  await Deno.chmod(root, 0o755);
  const dest = join(root, "dest");
  const shared = join(dest, "shared");
  const outside = join(root, "outside");
  await Deno.mkdir(shared, { recursive: true });
  await Deno.chmod(dest, 0o755);
  await Deno.chmod(shared, 0o777);
  await Deno.mkdir(outside);
  await Deno.chown(outside, NOBODY, NOBODY);
  return { dest, shared, outside };
}

/** Every path below `folder`, links shown with their targets. */
export async function describe(folder: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const relative = prefix + entry.name;
      const info = await Deno.lstat(join(dir, entry.name));
      if (entry.isSymlink) {
        found.push(
          `${relative} -> ${await Deno.readLink(join(dir, entry.name))}`,
        );
      } else if (entry.isDirectory) {
        found.push(relative + "/");
        await walk(join(dir, entry.name), relative + "/");
      } else {
        found.push(
          `${relative} ${info.size} ${(info.mode! & 0o7777).toString(8)} ${
            info.mtime!.getTime()
          }`,
        );
      }
    }
  }
  await walk(folder, "");
  return found.sort();
}

/**
 * setpriv's flags that take away root's power over others' files: a
 * program run with them as root is refused another user's private folder.
 */
export const NO_OVERRIDE = [
  "--bounding-set=-dac_override,-dac_read_search,-fowner",
];

/** Why {@link NO_OVERRIDE} cannot be used here, or null when it can. */
export async function noOverrideUnavailable(): Promise<string | null> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not running as root";
  const probe = await new Deno.Command("setpriv", {
    args: [...NO_OVERRIDE, "true"],
    stderr: "piped",
  }).output().catch((error) => error as Error);
  if (probe instanceof Error) return `setpriv: ${probe.message}`;
  if (probe.success) return null;
  const why = new TextDecoder().decode(probe.stderr).trim();
  return `setpriv: ${why || "failed"}`;
}

/**
 * The arguments of setpriv that run `program` (`client` or `server`) with
 * `args` as root without {@link NO_OVERRIDE}'s powers.
 */
export function withoutOverride(
  program: "client" | "server",
  args: readonly string[],
): string[] {
  return [
    ...NO_OVERRIDE,
    Deno.execPath(),
    "run",
    "-A",
    `${ROOT}${program}.ts`,
    ...args,
  ];
}
