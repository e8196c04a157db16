/**
 * The README says what the programs print: the messages of its
 * troubleshooting table are in the code, its examples of the summary
 * have the summary's form, and it points up and down to the right places.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { SUMMARY_COLUMNS } from "../lib/cli/client_display.ts";
import { displayWidth } from "../lib/cli/text_width.ts";
import { ROOT } from "./helpers.ts";

const README = await Deno.readTextFile(join(ROOT, "README.md"));

/**
 * `source` without its comments, which would let words of the README
 * pass for the program's when they only explain it.
 */
function withoutComments(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "")
    .replace(/\s\/\/\s.*$/gm, "");
}

/** All the TypeScript the programs run, as one text, comments left out. */
async function sources(): Promise<string> {
  const texts: string[] = [];
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) {
        texts.push(await Deno.readTextFile(path));
      }
    }
  }
  await walk(join(ROOT, "lib"));
  for (const name of ["client.ts", "server.ts", "protocol.ts"]) {
    texts.push(await Deno.readTextFile(join(ROOT, name)));
  }
  return withoutComments(texts.join("\n")).toLowerCase();
}

/** The messages quoted in the first column of the troubleshooting table. */
function troubleshootingMessages(): string[] {
  const section = README.slice(README.indexOf("## Troubleshooting"));
  const table = section.slice(0, section.indexOf("\n\n", 20));
  const messages: string[] = [];
  for (const row of table.split("\n").slice(3)) {
    const first = row.split(" | ")[0];
    for (const [, quoted] of first.matchAll(/`([^`]+)`/g)) {
      messages.push(quoted);
    }
  }
  return messages;
}

/**
 * The parts of `message` the code must hold word for word: the text
 * between its placeholders (HOST, N, NAME...), `...`, quotes, names of
 * files such as .ft-staging and the colons that join a message's parts,
 * without punctuation at either end.
 */
function literalParts(message: string): string[] {
  return message
    .split(/\.\.\.|"|\(|\)|: |; |(?<!\w)\.[a-z][\w.-]*|\b[A-Z]{1,5}\b/)
    .map((part) => part.replace(/^[\s\W]+|[\s\W]+$/g, ""))
    .filter((part) => part.length >= 4);
}

/** Whether the phrase `part` is in `code`, give or take a word at an end. */
function inCode(code: string, part: string): boolean {
  const words = part.toLowerCase().split(" ");
  // A word at either end may come from a value the code fills in
  // ("on the ${other}", "${shown} belongs").
  return [
    words,
    words.slice(1),
    words.slice(0, -1),
    words.slice(1, -1),
  ].some((some) =>
    // What is left is still a phrase: a single word proves nothing.
    some.length >= Math.min(2, words.length) &&
    some.join(" ").length >= 4 && code.includes(some.join(" "))
  );
}

Deno.test("the messages of the README's troubleshooting table are the program's", async () => {
  const code = await sources();
  const messages = troubleshootingMessages();
  assert.ok(messages.length >= 20, `only ${messages.length} messages`);
  for (const message of messages) {
    for (const part of literalParts(message)) {
      assert.ok(
        inCode(code, part),
        `"${part}" of \`${message}\` is not in the code`,
      );
    }
  }
});

/**
 * The lines of the README's blocks of program output: its fenced blocks
 * without a language (those with one, `sh`, hold commands).
 */
function outputLines(): string[] {
  const lines: string[] = [];
  const blocks = README.split(/^```/m);
  for (let i = 1; i < blocks.length; i += 2) {
    if (!blocks[i].startsWith("\n")) continue;
    lines.push(...blocks[i].split("\n").filter((line) => line.trim() !== ""));
  }
  return lines;
}

/**
 * The parts of an example line of output that are the program's own
 * words: what is left between the values it shows (numbers and sizes,
 * names and paths, addresses, codes, the progress bar, a peer in
 * brackets), placeholders and the punctuation that joins parts.
 */
function outputParts(line: string): string[] {
  return line
    .split(
      /-?\d[\d.,]*\s?(?:[KMGT]i?B|B|s|%)?(?!\w)|\.\.\.|"|\(|\)|\[[^\]]*\]|: |; |, | {2,}|\S*[/.:#=]\S*|\b[A-Z]{1,5}\b/,
    )
    .map((part) => part.replace(/^[\s\W]+|[\s\W]+$/g, ""))
    .filter((part) => part.length >= 4);
}

Deno.test("the README's examples of output are in the program's words", async () => {
  const code = await sources();
  const lines = outputLines();
  assert.ok(lines.length >= 30, `only ${lines.length} lines of output`);
  for (const line of lines) {
    for (const part of outputParts(line)) {
      assert.ok(
        inCode(code, part),
        `"${part}" of "${line}" is not in the code`,
      );
    }
  }
});

Deno.test("the README's examples of the client's summary have its form", () => {
  const examples = README.split("\n").filter((line) =>
    /^\d+ (of \d+ )?files (sent|received) and verified/.test(line)
  );
  assert.ok(examples.length >= 2, examples.join("\n"));
  for (const line of examples) {
    assert.match(
      line,
      /^\d+ (of \d+ )?files (sent|received) and verified, \d+ already there(, \d+ skipped)?, \d+ failed$/,
    );
    assert.ok(displayWidth(line) <= SUMMARY_COLUMNS, line);
  }
});

Deno.test("the README points up to what is above and down to what is below", () => {
  for (const match of README.matchAll(/the (\w+) table (above|below)/g)) {
    const heading = README.search(
      new RegExp(`^#+ ${match[1]}`, "im"),
    );
    assert.ok(heading !== -1, `no section for "${match[0]}"`);
    assert.equal(
      heading < match.index! ? "above" : "below",
      match[2],
      `"${match[0]}"`,
    );
  }
});
