/**
 * Where the short code comes from: `--code`, `--code-file`, the `FT_CODE`
 * environment variable, a prompt on the terminal (`code_editor.ts`), or
 * (for the server) a freshly generated one.
 *
 * @module
 */

import { CodeError, normalizeCode } from "../secure/code.ts";
import { fileErrorReason, UsageError } from "../common/errors.ts";
import { writeAllSync } from "../common/write_all.ts";
import { CodeEditor } from "./code_editor.ts";

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
    const line = text.split("\n")[0];
    if (line.trim() === "") {
      throw new UsageError(
        `Code file ${sources.codeFile} has no code on its first line: write the code there`,
      );
    }
    return normalizeCode(line);
  }
  const fromEnv = Deno.env.get(CODE_ENV);
  if (fromEnv !== undefined && fromEnv.trim() !== "") {
    return normalizeCode(fromEnv);
  }
  return undefined;
}

/** What the prompt says. */
export const CODE_PROMPT = "Code (as shown by the server): ";

/** The hint after a code that cannot be used. */
const RETRY_HINT = "type it again (Tab completes a word, Ctrl-U clears)";

/**
 * Asks for the code on the terminal until one can be used, and resolves
 * to it; undefined when standard input is not a terminal. The code shows
 * as typed, Tab completes a word of the list, Backspace, Ctrl-U and
 * Ctrl-W erase; a code that cannot be used (an unknown word, the wrong
 * shape) is said and asked again, with what was typed left to correct.
 */
export async function promptForCode(): Promise<string | undefined> {
  if (!Deno.stdin.isTerminal()) return undefined;
  const encoder = new TextEncoder();
  const write = (text: string) =>
    writeAllSync(Deno.stderr, encoder.encode(text));
  const editor = new CodeEditor(CODE_PROMPT);
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(256);
  // Raw before the prompt shows: the terminal's own echo and line editing
  // are off, and the editor echoes instead.
  Deno.stdin.setRaw(true);
  try {
    write(editor.draw());
    for (;;) {
      const count = await Deno.stdin.read(buffer);
      if (count === null) {
        write("\r\n");
        return normalizeCode(editor.text);
      }
      const typed = decoder.decode(buffer.subarray(0, count), { stream: true });
      for (const char of typed) {
        const step = editor.key(char);
        write(step.echo);
        if (step.done === "interrupt") {
          throw new UsageError("Interrupted while reading the code");
        }
        if (step.done === "end") throw new UsageError("No code typed");
        if (step.done !== "enter") continue;
        if (editor.text.trim() !== "") {
          try {
            return normalizeCode(editor.text);
          } catch (error) {
            if (!(error instanceof CodeError)) throw error;
            // After a question (did you mean ...?), a new sentence.
            const hint = error.message.endsWith("?")
              ? ` ${RETRY_HINT[0].toUpperCase()}${RETRY_HINT.slice(1)}`
              : `: ${RETRY_HINT}`;
            write(`${error.message}${hint}\r\n`);
          }
        }
        write(editor.draw());
        // What was typed after Enter was meant for the line just refused.
        break;
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
  }
}
