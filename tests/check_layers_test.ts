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

/**
 * What the check says, line by line, of a copy of {@link COPIED} with
 * `planted` lines put at the top of some of its files, so that the first
 * is line 1; it must fail.
 */
async function offences(planted: Record<string, string[]>): Promise<string[]> {
  await using dir = await tempDir();
  await copyTree(dir.path);
  for (const [file, lines] of Object.entries(planted)) {
    const path = join(dir.path, file);
    await Deno.mkdir(dirname(path), { recursive: true });
    const text = await Deno.readTextFile(path).catch(() => "");
    await Deno.writeTextFile(path, lines.join("\n") + "\n" + text);
  }
  const result = await layerCheck(dir.path);
  assert.equal(result.code, 1, result.stderr);
  return result.stderr.trimEnd().split("\n");
}

Deno.test("the real tree passes the layer check", async () => {
  const result = await layerCheck(ROOT);
  assert.equal(result.stderr, "");
  assert.equal(result.code, 0);
});

Deno.test("the copied modules pass the layer check", async () => {
  await using dir = await tempDir();
  await copyTree(dir.path);
  const result = await layerCheck(dir.path);
  assert.equal(result.stderr, "");
  assert.equal(result.code, 0);
});

// Each case plants lines in the copied modules, and gives every line the
// check must print then.
const CASES: {
  name: string;
  planted: Record<string, string[]>;
  says: string[];
}[] = [
  {
    name:
      "an upward import fails the check with a line naming the file and the import",
    planted: {
      "lib/store/stdin_spool.ts": [
        'import type { TransferEvent } from "../transfer/events.ts";',
      ],
    },
    says: [
      'lib/store/stdin_spool.ts:1: imports "../transfer/events.ts", from transfer/, a layer above store/',
      "Layer check: 1 offence",
    ],
  },
  {
    name:
      "two folders that import each other are named, with an import each way",
    planted: {
      // Downward, and allowed on its own.
      "lib/transfer/events.ts": [
        'import { copyStdin } from "../store/stdin_spool.ts";',
      ],
      "lib/store/stdin_spool.ts": [
        'export { type TransferEvent } from "../transfer/events.ts";',
      ],
    },
    says: [
      'lib/store/stdin_spool.ts:1: imports "../transfer/events.ts", from transfer/, a layer above store/',
      "lib/store/ and lib/transfer/ import each other: " +
      'lib/store/stdin_spool.ts:1 imports "../transfer/events.ts", ' +
      'lib/transfer/events.ts:1 imports "../store/stdin_spool.ts"',
      "Layer check: 2 offences",
    ],
  },
  {
    name:
      "a dynamic import upward and an import of the top level fail the check; comments and strings do not",
    planted: {
      "lib/net/idle.ts": [
        '// import "../cli/json_events.ts";',
        'const shown = `import("../cli/json_events.ts")`;',
        'const events = await import("../cli/json_events.ts");',
        'import { quote } from "../../protocol.ts";',
      ],
    },
    says: [
      'lib/net/idle.ts:3: import("../cli/json_events.ts"), from cli/, a layer above net/',
      'lib/net/idle.ts:4: imports "../../protocol.ts", from the top level, above every folder of lib/',
      "Layer check: 2 offences",
    ],
  },
  {
    name:
      "a module outside the layer folders, and a folder the list leaves out, fail the check",
    planted: {
      "lib/loose.ts": ["export {};"],
      "lib/extra/more.ts": ["export {};"],
    },
    says: [
      "lib/extra/more.ts: extra/ is not listed in lib/LAYERS.md",
      "lib/loose.ts: not in a layer folder of lib/LAYERS.md",
      "Layer check: 2 offences",
    ],
  },
];

for (const { name, planted, says } of CASES) {
  Deno.test(name, async () => {
    assert.deepEqual(await offences(planted), says);
  });
}
