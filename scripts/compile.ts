/**
 * Builds `ft-server` and `ft-client`, self-contained executables of
 * `server.ts` and `client.ts`, with `deno compile` and the permissions of
 * `scripts/permissions.ts` baked in.
 *
 *     deno run -A scripts/compile.ts            dist/ft-server, dist/ft-client
 *     deno run -A scripts/compile.ts --release  both for every target, as
 *                                               dist/ft-server-TARGET[.exe]
 *
 * `deno compile` puts each program into denort, a runtime without the
 * tools, which it downloads from dl.deno.land once per Deno version and
 * target, or takes from the file `DENORT_BIN` names.
 *
 * @module
 */

import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { formatBytes } from "../lib/common/format.ts";
import { CLIENT_PERMISSIONS, SERVER_PERMISSIONS } from "./permissions.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Where the executables go. */
export const DIST: string = join(ROOT, "dist");

/** Every target `deno compile --target` supports. */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

/** A program to build. */
export interface Program {
  /** Name of the executable, without target or `.exe`. */
  name: string;
  /** Its entry module, relative to the repository's top folder. */
  entry: string;
  /** The permission flags baked into it. */
  permissions: readonly string[];
}

/** The two programs, each with its own permissions. */
export const PROGRAMS: readonly Program[] = [
  { name: "ft-server", entry: "server.ts", permissions: SERVER_PERMISSIONS },
  { name: "ft-client", entry: "client.ts", permissions: CLIENT_PERMISSIONS },
];

/** `deno compile` could not get the runtime it builds executables from. */
export class RuntimeUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RuntimeUnavailableError";
  }
}

/** How {@link compile} builds one executable. */
export interface CompileOptions {
  /** The module to compile, absolute or relative to the top folder. */
  entry: string;
  /** The executable to write. */
  output: string;
  /** Permission flags to bake in. */
  permissions: readonly string[];
  /** A target of {@link TARGETS}; this platform when undefined. */
  target?: string;
  /** Stops `deno compile`, as when it takes too long. */
  signal?: AbortSignal;
}

/**
 * The file name of `program` built for `target`, or for this platform
 * when `target` is undefined.
 */
export function outputName(program: string, target?: string): string {
  const windows = target === undefined
    ? Deno.build.os === "windows"
    : target.includes("windows");
  return `${program}${target === undefined ? "" : `-${target}`}${
    windows ? ".exe" : ""
  }`;
}

/**
 * Runs `deno compile` for one executable. Throws a
 * {@link RuntimeUnavailableError} when denort could not be had, and an
 * `Error` with the output of `deno compile` for any other failure.
 */
export async function compile(options: CompileOptions): Promise<void> {
  const env = Deno.env.toObject();
  // No escape codes in output that ends up in an error message.
  env.NO_COLOR = "1";
  // DENORT_BIN is used for every target, so a runtime for this platform
  // would end up in the executables of all the others.
  const crossing = options.target !== undefined &&
    options.target !== Deno.build.target;
  if (crossing) delete env.DENORT_BIN;
  const args = [
    "compile",
    // A missing permission should fail with a message, not stop the
    // program with a question on the terminal.
    "--no-prompt",
    ...options.permissions,
    ...(options.target === undefined ? [] : ["--target", options.target]),
    "--output",
    options.output,
    options.entry,
  ];
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
  }).output();
  if (result.success) return;
  const output = new TextDecoder().decode(result.stderr).trim();
  const where = options.target ?? Deno.build.target;
  if (options.signal?.aborted) {
    throw new Error(
      `deno compile of ${options.entry} for ${where} was stopped`,
    );
  }
  if (/denort|base binary|dl\.deno\.land/i.test(output)) {
    const local = crossing ? undefined : env.DENORT_BIN;
    throw new RuntimeUnavailableError(
      local === undefined
        ? `deno compile could not get its base runtime (denort) for ${where}: set DENORT_BIN=/path/to/denort or allow downloads from dl.deno.land`
        : `deno compile could not use DENORT_BIN=${local} as its base runtime: point it to the denort of Deno ${Deno.version.deno} for ${where}`,
    );
  }
  throw new Error(
    `deno compile of ${options.entry} for ${where} failed:\n${output}`,
  );
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: { release: { type: "boolean", default: false } },
  });
  const targets = values.release ? TARGETS : [undefined];
  await Deno.mkdir(DIST, { recursive: true });
  for (const target of targets) {
    for (const program of PROGRAMS) {
      const output = join(DIST, outputName(program.name, target));
      try {
        await compile({
          entry: program.entry,
          output,
          permissions: program.permissions,
          target,
        });
      } catch (error) {
        console.error(error instanceof Error ? error.message : String(error));
        return 1;
      }
      const { size } = await Deno.stat(output);
      console.log(`${relative(ROOT, output)}  ${formatBytes(size)}`);
    }
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (error) {
    console.error(
      `compile: ${error instanceof Error ? error.message : String(error)}`,
    );
    Deno.exitCode = 2;
  }
}
