/**
 * What both command lines share: flag parsing that turns every mistake
 * into a one-line usage error, `--version`, and the exit status.
 *
 * @module
 */

import { basename, isAbsolute, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CodeError } from "../secure/code.ts";
import { errorMessage, UsageError } from "../common/errors.ts";
import { PROTOCOL_VERSION } from "../protocol/constants.ts";
import { VERSION } from "../common/version.ts";

/** Exit status: everything went well. */
export const EXIT_OK = 0;
/** Exit status: a transfer, a file or the connection failed. */
export const EXIT_FAILED = 1;
/** Exit status: the command line was wrong. */
export const EXIT_USAGE = 2;
/**
 * Exit status: the client interrupted (SIGINT, as by Ctrl-C, or SIGTERM),
 * or the server stopped at once by a second one.
 */
export const EXIT_INTERRUPTED = 130;

/** The `--version` line of `program`. */
export function versionLine(program: string): string {
  return `${program} ${VERSION} (protocol ${PROTOCOL_VERSION}, Deno ${Deno.version.deno})`;
}

/**
 * The `--location` that `deno task install` gives the programs it installs
 * as `ft-server` and `ft-client`: the one thing such a program can tell
 * its installation by without a permission (its wrapper script runs Deno
 * on this very file, as `deno run` would).
 */
export const INSTALLED_LOCATION = "https://ft.invalid/installed/";

/**
 * `word` as a shell reads it back as one word: as it is when it needs no
 * quoting, else in single quotes (double quotes on Windows, whose shells
 * take no single quotes).
 */
export function shellWord(word: string): string {
  if (Deno.build.os === "windows") {
    return /^[\w@%+=:,./\\-]+$/.test(word) ? word : `"${word}"`;
  }
  return /^[\w@%+=:,./-]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The path of this checkout's `program`.ts as it can be typed here: relative
 * to the current folder when it lies inside, absolute otherwise; a URL when
 * the programs run from one.
 */
function scriptPath(program: "client" | "server"): string {
  const url = new URL(`../../${program}.ts`, import.meta.url);
  if (url.protocol !== "file:") return url.href;
  const path = fileURLToPath(url);
  let cwd: string;
  try {
    cwd = Deno.cwd();
  } catch {
    return path;
  }
  const inside = relative(cwd, path);
  return inside.startsWith("..") || isAbsolute(inside) ? path : inside;
}

/**
 * How to run `program` from where the user is: the compiled `ft-client` or
 * `ft-server` next to this one when this is a compiled binary, the
 * installed one when this program was installed by `deno task install`,
 * else with Deno and the path of this checkout's file, as it can be typed
 * in the current folder (`client.ts` inside the checkout).
 */
export function commandFor(program: "client" | "server"): string {
  const running = basename(Deno.execPath()).replace(/\.exe$/i, "");
  const compiled = running.match(/^ft-(?:client|server)(.*)$/);
  if (compiled) return `ft-${program}${compiled[1]}`;
  if (globalThis.location?.href === INSTALLED_LOCATION) return `ft-${program}`;
  return `deno run -A ${shellWord(scriptPath(program))}`;
}

/** `text` with the Deno commands of both programs said as `commandFor`. */
export function withCommands(text: string): string {
  return text
    .replaceAll("deno run -A client.ts", commandFor("client"))
    .replaceAll("deno run -A server.ts", commandFor("server"));
}

/** The first sentence of a parse error, said the way this tool says it. */
function describeParseError(message: string): string {
  const unknown = message.match(/^Unknown option '([^']+)'/);
  if (unknown) return `Unknown option ${unknown[1]} (see --help)`;
  const missing = message.match(/^Option '(-[^' ]+)[^']*' argument missing/);
  if (missing) return `Option ${missing[1]} needs a value`;
  const extra = message.match(/^Option '(-[^' ]+)[^']*' does not take/);
  if (extra) return `Option ${extra[1]} takes no value`;
  return message.split(/\. |\n/)[0];
}

/** `parseArgs`, with each mistake raised as a {@link UsageError}. */
export function parseFlags<T extends ParseArgsConfig>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError(describeParseError(errorMessage(error)));
  }
}

/** The exit status for an error that ended the program. */
export function exitStatusOf(error: unknown): number {
  return error instanceof UsageError || error instanceof CodeError
    ? EXIT_USAGE
    : EXIT_FAILED;
}
