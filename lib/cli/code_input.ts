/**
 * Where the short code comes from: `--code`, `--code-file`, the `FT_CODE`
 * environment variable, a prompt on the terminal without echo, or (for the
 * server) a freshly generated one.
 *
 * @module
 */

import { normalizeCode } from "../secure/code.ts";
import { fileErrorReason, UsageError } from "../common/errors.ts";

/** The ways a code can be given on the command line. */
export interface CodeSources {
  /** `--code CODE`, visible to other local users in the process list. */
  code?: string;
  /** `--code-file FILE`. */
  codeFile?: string;
}

/** Name of the environment variable both sides read the code from. */
export const CODE_ENV = "FT_CODE";

/**
 * The code from the first source that has one, in the order `--code`,
 * `--code-file`, `FT_CODE`; undefined when none has.
 */
export async function codeFromSources(
  sources: CodeSources,
): Promise<string | undefined> {
  if (sources.code !== undefined) return normalizeCode(sources.code);
  if (sources.codeFile !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(sources.codeFile);
    } catch (error) {
      throw new UsageError(
        `Cannot read code file ${sources.codeFile}: ${fileErrorReason(error)}`,
      );
    }
    return normalizeCode(text.split("\n")[0]);
  }
  const fromEnv = Deno.env.get(CODE_ENV);
  if (fromEnv !== undefined && fromEnv.trim() !== "") {
    return normalizeCode(fromEnv);
  }
  return undefined;
}

/**
 * Asks for the code on the terminal without echoing it; undefined when
 * standard input is not a terminal.
 */
export async function promptForCode(): Promise<string | undefined> {
  if (!Deno.stdin.isTerminal()) return undefined;
  const encoder = new TextEncoder();
  // Echo is off before the prompt shows, so that a code typed at once is
  // never echoed.
  Deno.stdin.setRaw(true);
  Deno.stderr.writeSync(encoder.encode("Code (as shown by the server): "));
  const typed: number[] = [];
  const buffer = new Uint8Array(64);
  try {
    reading: for (;;) {
      const count = await Deno.stdin.read(buffer);
      if (count === null) break;
      for (const byte of buffer.subarray(0, count)) {
        if (byte === 0x0d || byte === 0x0a) break reading;
        if (byte === 0x03) {
          Deno.stderr.writeSync(encoder.encode("\n"));
          throw new UsageError("Interrupted while reading the code");
        }
        if (byte === 0x7f || byte === 0x08) {
          // One character, however many UTF-8 bytes it took.
          while ((typed.pop() ?? 0) >> 6 === 0b10);
        } else if (byte >= 0x20) typed.push(byte);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
  return normalizeCode(new TextDecoder().decode(new Uint8Array(typed)));
}
