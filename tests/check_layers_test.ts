/**
 * Tests for `scripts/check_layers.ts`: clean on the real tree, and one line
 * naming the file and the import for each import planted against the
 * order of `lib/LAYERS.md`, in a copy of a few real modules.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { type Finished, ROOT, runProgram, tempDir } from "./helpers.ts";

// One real module per layer, and an entry point at the top.
const COPIED = [
  "lib/LAYERS.md",
  "lib/common/write_all.ts",
  "lib/protocol/text.ts",
  "lib/net/idle.ts",
  "lib/secure/record.ts",
  "lib/store/stdin_spool.ts",
  "lib/transfer/events.ts",
  "lib/cli/json_events.ts",
  "protocol.ts",
];

function layerCheck(root: string): Promise<Finished> {
  return runProgram(Deno.execPath(), [
    "run",
    "--allow-read",
    `${ROOT}scripts/check_layers.ts`,
    root,
  ]);
}

async function copyTree(into: string): Promise<void> {
  for (const file of COPIED) {
    await Deno.mkdir(dirname(join(into, file)), { recursive: true });
    await Deno.copyFile(join(ROOT, file), join(into, file));
  }
}

// Puts `lines` at the top of `file`, so that the first is line 1.
async function plant(root: string, file: string, lines: string[]) {
  const path = join(root, file);
  const text = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, lines.join("\n") + "\n" + text);
}

Deno.test("the real tree passes the layer check", async () => {
  const result = await layerCheck(ROOT);
  assert.equal(result.stderr, "");
  assert.equal(result.code, 0);
});

Deno.test("an upward import fails the check with a line naming the file and the import", async () => {
  await using dir = await tempDir();
  await copyTree(dir.path);
  const before = await layerCheck(dir.path);
  assert.equal(before.stderr, "");
  assert.equal(before.code, 0);

  await plant(dir.path, "lib/store/stdin_spool.ts", [
    'import type { TransferEvent } from "../transfer/events.ts";',
  ]);
  const after = await layerCheck(dir.path);
  assert.equal(after.code, 1);
  assert.deepEqual(after.stderr.trimEnd().split("\n"), [
    'lib/store/stdin_spool.ts:1: imports "../transfer/events.ts", from transfer/, a layer above store/',
    "Layer check: 1 offence",
  ]);
});

Deno.test("two folders that import each other are named, with an import each way", async () => {
  await using dir = await tempDir();
  await copyTree(dir.path);
  await plant(dir.path, "lib/transfer/events.ts", [
    'import { readStdin } from "../store/stdin_spool.ts";',
  ]);
  assert.equal((await layerCheck(dir.path)).code, 0);
  await plant(dir.path, "lib/store/stdin_spool.ts", [
    'export { type TransferEvent } from "../transfer/events.ts";',
  ]);
  const result = await layerCheck(dir.path);
  assert.equal(result.code, 1);
  assert.deepEqual(result.stderr.trimEnd().split("\n"), [
    'lib/store/stdin_spool.ts:1: imports "../transfer/events.ts", from transfer/, a layer above store/',
    "lib/store/ and lib/transfer/ import each other: " +
    'lib/store/stdin_spool.ts:1 imports "../transfer/events.ts", ' +
    'lib/transfer/events.ts:1 imports "../store/stdin_spool.ts"',
    "Layer check: 2 offences",
  ]);
});

Deno.test("a dynamic import upward and an import of the top level fail the check; comments and strings do not", async () => {
  await using dir = await tempDir();
  await copyTree(dir.path);
  await plant(dir.path, "lib/net/idle.ts", [
    '// import "../cli/json_events.ts";',
    'const shown = `import("../cli/json_events.ts")`;',
    'const events = await import("../cli/json_events.ts");',
    'import { quote } from "../../protocol.ts";',
  ]);
  const result = await layerCheck(dir.path);
  assert.equal(result.code, 1);
  assert.deepEqual(result.stderr.trimEnd().split("\n"), [
    'lib/net/idle.ts:3: import("../cli/json_events.ts"), from cli/, a layer above net/',
    'lib/net/idle.ts:4: imports "../../protocol.ts", from the top level, above every folder of lib/',
    "Layer check: 2 offences",
  ]);
});

Deno.test("a module outside the layer folders, and a folder the list leaves out, fail the check", async () => {
  await using dir = await tempDir();
  await copyTree(dir.path);
  await Deno.writeTextFile(join(dir.path, "lib/loose.ts"), "export {};\n");
  await Deno.mkdir(join(dir.path, "lib/extra"));
  await Deno.writeTextFile(join(dir.path, "lib/extra/more.ts"), "export {};\n");
  const result = await layerCheck(dir.path);
  assert.equal(result.code, 1);
  assert.deepEqual(result.stderr.trimEnd().split("\n"), [
    "lib/extra/more.ts: extra/ is not listed in lib/LAYERS.md",
    "lib/loose.ts: not in a layer folder of lib/LAYERS.md",
    "Layer check: 2 offences",
  ]);
});
