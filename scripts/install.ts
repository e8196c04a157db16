/**
 * Installs `server.ts` and `client.ts` of this folder as the commands
 * `ft-server` and `ft-client`, with `deno install -g` and the permissions
 * of `scripts/permissions.ts`: each becomes a small script in Deno's bin
 * folder (`~/.deno/bin` unless `--root DIR`) that runs this folder's file,
 * so the folder must stay where it is.
 *
 *     deno task install [--root DIR]
 *
 * The programs are installed with `--location` set to
 * {@link INSTALLED_LOCATION}, by which they know to print `ft-client` and
 * `ft-server` in the commands they show rather than `deno run -A ...`.
 * `deno install` needs the npm packages of `deno.json`: from Deno's cache,
 * as after any earlier run here, or from the npm registry.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { INSTALLED_LOCATION } from "../lib/cli/cli.ts";
import { type Program, PROGRAMS } from "./compile.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The arguments of `deno` that install `program`, into `root` if given. */
export function installArgs(program: Program, root?: string): string[] {
  return [
    "install",
    "--global",
    "--force",
    "--name",
    program.name,
    ...(root === undefined ? [] : ["--root", root]),
    // Its imports (the npm packages) come from this folder's deno.json.
    "--config",
    join(ROOT, "deno.json"),
    "--location",
    INSTALLED_LOCATION,
    ...program.permissions,
    join(ROOT, program.entry),
  ];
}

/**
 * Installs both programs, into `root` if given; throws with the output of
 * `deno install` when it fails.
 */
export async function install(root?: string): Promise<void> {
  for (const program of PROGRAMS) {
    const result = await new Deno.Command(Deno.execPath(), {
      args: installArgs(program, root),
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!result.success) {
      throw new Error(
        `deno install of ${program.name} failed:\n${
          new TextDecoder().decode(result.stderr).trim()
        }`,
      );
    }
  }
}

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      strict: true,
      options: { root: { type: "string" } },
    });
    await install(values.root);
    const bin = join(
      values.root ?? Deno.env.get("DENO_INSTALL_ROOT") ??
        join(
          Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? "~",
          ".deno",
        ),
      "bin",
    );
    console.log(
      `Installed ft-server and ft-client in ${bin}, running the files of ${ROOT}`,
    );
    console.log(
      `Make sure ${bin} is on your PATH, then: ft-server --help, ft-client --help`,
    );
  } catch (error) {
    console.error(
      `install: ${error instanceof Error ? error.message : String(error)}`,
    );
    Deno.exitCode = 1;
  }
}
