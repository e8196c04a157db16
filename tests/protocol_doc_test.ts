/**
 * `docs/PROTOCOL.md` against the code: every vector block of the document
 * (section 8, the P-256 parameters and white space of section 3, the word
 * list of appendix A) must be what `scripts/spec_vectors.ts` computes from
 * the code now, and the constants of 1.3, the SPAKE2 parameters of 3.5 and
 * the strings that carry the protocol version must be the code's.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import * as protocol from "../protocol.ts";
import { WORDS } from "../lib/secure/wordlist.ts";
import {
  computeVectors,
  DOC_PATH,
  extractVectors,
  normalizeVector,
} from "../scripts/spec_vectors.ts";
import {
  PAKE_PARAMETERS,
  RECORD_KEY_INFO,
} from "../scripts/spec/key_exchange.ts";

const UPDATE =
  "run `deno run -A scripts/spec_vectors.ts --write` to put the code's values in docs/PROTOCOL.md " +
  "(or paste the blocks `deno run -A scripts/spec_vectors.ts` prints), then read the prose around them again";

const doc = await Deno.readTextFile(DOC_PATH);

/** The text of the section whose heading starts with `heading`. */
function section(heading: string): string {
  const start = doc.indexOf(`\n${heading}`);
  assert.notEqual(start, -1, `docs/PROTOCOL.md has no section ${heading}`);
  const level = heading.split(" ")[0];
  const rest = doc.slice(start + 1 + heading.length);
  const end = rest.search(new RegExp(`\\n#{1,${level.length}} `));
  return end === -1 ? rest : rest.slice(0, end);
}

/** The rows of the markdown tables in `text`, as arrays of trimmed cells. */
function tableRows(text: string): string[][] {
  return text.split("\n")
    .filter((line) => line.startsWith("|") && !/^\|[\s|-]+\|$/.test(line))
    .map((line) => line.slice(1, -1).split(" | ").map((cell) => cell.trim()));
}

/** Where two blocks first differ, once normalized, for a short message. */
function firstDifference(written: string, computed: string): string {
  const a = normalizeVector(written).split("\n");
  const b = normalizeVector(computed).split("\n");
  const line = a.findIndex((text, i) => text !== b[i]);
  const at = line === -1 ? a.length : line;
  return `line ${at + 1} of the block is "${a[at] ?? ""}" in the document, ` +
    `"${b[at] ?? ""}" from the code`;
}

/**
 * The transcripts in which the two directions may interleave differently
 * from run to run (a machine slow enough to send a `wait` can make the
 * server confirm a file earlier): each side's frames must match in order,
 * the interleaving need not.
 */
const INTERLEAVED = new Set(["transcript", "resume", "download"]);

/** A transcript's frames, `C>` ones first, then `S>` ones. */
function byDirection(block: string): string {
  const frames: string[] = [];
  for (const line of normalizeVector(block).split("\n")) {
    if (/^[CS]> /.test(line) || frames.length === 0) frames.push(line);
    else frames[frames.length - 1] += "\n" + line;
  }
  const from = (dir: string) => frames.filter((f) => f.startsWith(dir));
  return [...from("C>"), ...from("S>")].join("\n");
}

/** Whether a written block says what the computed one does. */
function same(name: string, written: string, computed: string): boolean {
  return INTERLEAVED.has(name)
    ? byDirection(written) === byDirection(computed)
    : normalizeVector(written) === normalizeVector(computed);
}

Deno.test("every vector block of the document is what the code computes", async () => {
  const computed = await computeVectors();
  const written = extractVectors(doc);
  const problems: string[] = [];
  for (const [name, body] of computed) {
    const there = written.get(name);
    if (there === undefined) {
      problems.push(`${name}: missing (no <!-- vector ${name} --> block)`);
    } else if (!same(name, there, body)) {
      problems.push(`${name}: ${firstDifference(there, body)}`);
    }
  }
  for (const name of written.keys()) {
    if (!computed.has(name)) problems.push(`${name}: not computed any more`);
  }
  if (problems.length > 0) {
    assert.fail(
      `docs/PROTOCOL.md is out of date:\n${problems.join("\n")}\n${UPDATE}`,
    );
  }
});

Deno.test("the word list of appendix A is lib/secure/wordlist.ts, with its indexes", () => {
  const block = extractVectors(doc).get("wordlist");
  assert.ok(block !== undefined, `appendix A has no word list; ${UPDATE}`);
  const words: string[] = [];
  for (const line of block.split("\n").filter((l) => !l.startsWith("```"))) {
    const [index, ...rest] = line.trim().split(/\s+/);
    assert.equal(Number(index), words.length, `bad index in "${line}"`);
    words.push(...rest);
  }
  assert.deepEqual(words, [...WORDS], `appendix A differs; ${UPDATE}`);
});

/**
 * `64 * 1024 * 1024`, `2 ** 50`, `30_000`, `32 * 1024 * 1024 / 1000`: the
 * literals constants use, products and quotients taken from the left.
 */
function evaluate(expression: string): number | undefined {
  if (!/^[\d_ *\/.]+$/.test(expression)) return undefined;
  const power = (factor: string) => {
    const [base, exponent] = factor.split("**").map((part) =>
      Number(part.trim().replaceAll("_", ""))
    );
    return exponent === undefined ? base : base ** exponent;
  };
  const [first, ...rest] = expression.split(/(?<!\*)([*/])(?!\*)/);
  let value = power(first);
  for (let i = 0; i < rest.length; i += 2) {
    const operand = power(rest[i + 1]);
    value = rest[i] === "*" ? value * operand : value / operand;
  }
  return value;
}

/** The files besides protocol.ts where constants of 1.3 are defined. */
function sourceFiles(root: string): string[] {
  const files = [join(root, "server.ts"), join(root, "client.ts")];
  const folders = [join(root, "lib")];
  for (const folder of folders) {
    for (const entry of Deno.readDirSync(folder)) {
      const path = join(folder, entry.name);
      if (entry.isDirectory) folders.push(path);
      else if (entry.name.endsWith(".ts")) files.push(path);
    }
  }
  return files;
}

/**
 * The value of the constant `name` in protocol.ts, lib/, server.ts or
 * client.ts: imported when exported, read from the source when not.
 */
async function constantValue(name: string): Promise<unknown> {
  if (name in protocol) return protocol[name as keyof typeof protocol];
  const root = new URL("..", import.meta.url).pathname;
  const definition = new RegExp(
    `^(export )?const ${name}(?:: \\w+)? =\\s*([^;]+);`,
    "m",
  );
  const values = [];
  for (const file of sourceFiles(root)) {
    const match = Deno.readTextFileSync(file).match(definition);
    if (match === null) continue;
    if (match[1] !== undefined) {
      values.push((await import(file))[name]);
    } else {
      const literal = match[2].trim().match(/^"(.*)"$/);
      values.push(literal ? literal[1] : evaluate(match[2].trim()));
    }
  }
  assert.equal(values.length, 1, `${name} is defined ${values.length} times`);
  return values[0];
}

/** A value cell of the table of 1.3, as a number, bytes or a string. */
function cellValue(cell: string): unknown {
  const code = cell.match(/^`([^`]*)`/);
  if (code !== null) {
    return /^([0-9a-f]{2} )*[0-9a-f]{2}$/.test(code[1])
      ? Uint8Array.from(code[1].split(" ").map((b) => parseInt(b, 16)))
      : code[1];
  }
  const number = cell.split("(")[0].split("=").pop()!.replaceAll(" ", "");
  return Number(number);
}

Deno.test("the constants of 1.3 are the code's", async () => {
  const rows = tableRows(section("### 1.3")).slice(1);
  const listed = new Set<string>();
  for (const [nameCell, valueCell] of rows) {
    const name = nameCell.replaceAll("`", "");
    listed.add(name);
    const value = await constantValue(name);
    assert.deepEqual(
      cellValue(valueCell),
      value instanceof Uint8Array ? Uint8Array.from(value) : value,
      `1.3 gives ${name} as ${valueCell}, the code has ${value}`,
    );
  }
  for (const [name, value] of Object.entries(protocol)) {
    if (typeof value === "number" || value instanceof Uint8Array) {
      assert.ok(listed.has(name), `1.3 does not list ${name} of protocol.ts`);
    }
  }
});

Deno.test("the SPAKE2 parameters of 3.5 and 3.6 are the code's", () => {
  const rows = new Map(
    tableRows(section("### 3.5")).map(([name, value]) => [name, value]),
  );
  const expect = (name: string, value: string) =>
    assert.ok(
      rows.get(`\`${name}\``)?.includes(`\`${value}\``),
      `the table of 3.5 should give ${name} as \`${value}\`, as the code does`,
    );
  expect("idA", PAKE_PARAMETERS.idA);
  expect("idB", PAKE_PARAMETERS.idB);
  expect("AAD", PAKE_PARAMETERS.aad);
  expect("M", PAKE_PARAMETERS.m);
  expect("N", PAKE_PARAMETERS.n);
  assert.ok(
    section("### 3.6").includes(`S = UTF-8("${PAKE_PARAMETERS.salt}")`),
    `3.6 should give the scrypt salt as "${PAKE_PARAMETERS.salt}"`,
  );
  const keys = section("### 3.7");
  for (const info of Object.values(RECORD_KEY_INFO)) {
    assert.ok(
      keys.includes(`info = \`${info}\``),
      `3.7 should give the info string \`${info}\``,
    );
  }
});

Deno.test("every hello and versioned string of the text has the current version", () => {
  const version = protocol.PROTOCOL_VERSION;
  const bytes = [version >> 8, version & 0xff]
    .map((b) => b.toString(16).padStart(2, "0")).join(" ");
  const stale: string[] = [];
  const lineOf = (at: number) => doc.slice(0, at).split("\n").length;
  if (!doc.startsWith(`# Wire protocol, version ${version}\n`)) {
    stale.push("line 1: the title");
  }
  const hellos = [...doc.matchAll(/44 46 54 50 ([0-9a-f]{2} [0-9a-f]{2})/g)];
  const versioned = [
    ...doc.matchAll(/deno-ft protocol (\d+)/g),
    ...doc.matchAll(/deno-ft (\d+) (?:client to server|server to client)/g),
  ];
  assert.ok(hellos.length > 0 && versioned.length > 0);
  for (const match of [...hellos, ...versioned]) {
    const current = match[0].startsWith("44") ? bytes : String(version);
    if (match[1] !== current) {
      stale.push(`line ${lineOf(match.index)}: ${match[0]}`);
    }
  }
  if (stale.length > 0) {
    assert.fail(
      `docs/PROTOCOL.md still has another version than ${version} here ` +
        `(update the prose; vector blocks: ${UPDATE}):\n${stale.join("\n")}`,
    );
  }
});
