/**
 * The server's code: the one given to it, or the one an earlier start
 * with the same destination kept, or a new one (kept for the next start
 * when there is a destination); and, when it stops, how to start it again
 * with the same code, so that clients still retrying get through.
 *
 * @module
 */

import { errorMessage, UsageError } from "../common/errors.ts";
import { generateCode } from "../secure/code.ts";
import { readSavedCode, saveCode } from "../store/saved_code.ts";
import { STAGING_NAME } from "../store/staging.ts";
import type { DestinationRoot } from "../store/destination_root.ts";
import { commandFor, shellWord } from "./cli.ts";
import { CODE_ENV, codeFromSources } from "./code_input.ts";
import type { Output } from "./console_output.ts";

/** The code of a server, and where it came from. */
export interface ServerCode {
  /** The code. */
  code: string;
  /** How it was given (`--code`, `--code-file`, `FT_CODE`); null if made up. */
  givenBy: string | null;
  /** Where it is kept for the next start; null when it is not. */
  keptIn: string | null;
  /** Whether an earlier start made it. */
  reused: boolean;
}

/** The flags that choose the code. */
export interface CodeFlags {
  code?: string;
  "code-file"?: string;
  "new-code"?: boolean;
}

/**
 * The server's code: given, or kept in `root`'s staging folder by an
 * earlier start (unless `--new-code`), or made up, and then kept there.
 * Something in the kept code's place that is not the server's own is set
 * aside with one line; a code that cannot be kept is used all the same.
 */
export async function serverCode(
  flags: CodeFlags,
  root: DestinationRoot | null,
  output: Output,
): Promise<ServerCode> {
  const given = await codeFromSources({
    code: flags.code,
    codeFile: flags["code-file"],
  });
  if (given !== undefined) {
    if (flags["new-code"]) {
      throw new UsageError(
        `--new-code makes up a code: it does not go with one given (${
          givenBy(flags)
        })`,
      );
    }
    return {
      code: given,
      givenBy: givenBy(flags),
      keptIn: null,
      reused: false,
    };
  }
  if (root === null) {
    return { code: generateCode(), givenBy: null, keptIn: null, reused: false };
  }
  const keptIn = `${root.path}/${STAGING_NAME}`;
  if (!flags["new-code"]) {
    const saved = readSavedCode(root.staging, keptIn);
    if (saved.ignored !== null) warn(output, saved.ignored);
    if (saved.code !== null) {
      return { code: saved.code, givenBy: null, keptIn, reused: true };
    }
  }
  const code = generateCode();
  try {
    saveCode(root.staging, code);
  } catch (error) {
    warn(
      output,
      `cannot keep the code in ${keptIn} for the next start: ${
        errorMessage(error)
      }`,
    );
    return { code, givenBy: null, keptIn: null, reused: false };
  }
  return { code, givenBy: null, keptIn, reused: false };
}

function givenBy(flags: CodeFlags): string {
  return flags.code !== undefined
    ? "--code"
    : flags["code-file"] !== undefined
    ? "--code-file"
    : CODE_ENV;
}

function warn(output: Output, message: string): void {
  output.event({ type: "warning", message });
  output.problem(`warning: ${message}`);
}

/**
 * What the server says when it stops: how to start it again with the same
 * code, given the arguments `args` it was started with and the `port` it
 * listened on. A code given to it is not shown, as at start. A port the
 * system chose (`--port 0`) is named instead: the clients retrying are
 * retrying that one.
 */
export function restartLine(
  code: ServerCode,
  args: readonly string[],
  port: number,
): string {
  const again = withPort(args, port);
  const samePort = again === null ? "" : ` and --port ${port}`;
  if (code.givenBy === CODE_ENV) {
    return `start it again with the same code by running the same command with the same ${CODE_ENV}${samePort}`;
  }
  if (code.givenBy !== null) {
    return `start it again with the same code by running the same command${samePort} (its ${code.givenBy} gives the code)`;
  }
  const command = [
    commandFor("server"),
    ...(again ?? args).filter((arg) => arg !== "--new-code").map(shellWord),
  ].join(" ");
  return code.keptIn !== null
    ? `start it again with the same code: ${command} (the code is kept in ${code.keptIn}; --new-code makes another)`
    : `start it again with the same code: ${CODE_ENV}=${code.code} ${command}`;
}

/**
 * `args` with a `--port 0` (or `--port=0`) made `--port PORT`; null when
 * they name no port 0.
 */
function withPort(args: readonly string[], port: number): string[] | null {
  const result = [...args];
  for (let i = 0; i < result.length; i++) {
    if (result[i] === "--") break;
    if (result[i] === "--port=0") {
      result[i] = `--port=${port}`;
      return result;
    }
    if (result[i] === "--port" && result[i + 1] === "0") {
      result[i + 1] = `${port}`;
      return result;
    }
  }
  return null;
}
