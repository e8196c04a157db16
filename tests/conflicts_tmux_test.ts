/**
 * On a real terminal (tmux), a client with `--rename` or `--skip-existing`
 * shows what became of the files whose names the server has with other
 * bytes, without a line per file for the others, and the server's line
 * for the session counts them alike.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, tempDir, TEST_CODE } from "./helpers.ts";
import { hasTmux, Pane } from "./tmux.ts";

const SKIPPED = "skipped: tmux is not installed (Debian package tmux)";

/** A shell command line running `program` with `args` in `cwd`. */
function command(
  program: "client" | "server",
  args: string,
  cwd = ROOT,
): string {
  return `cd ${cwd} && env FT_CODE=${TEST_CODE} ${Deno.execPath()} run -A ${
    join(ROOT, `${program}.ts`)
  } ${args}; echo "exit=$?"; sleep 120`;
}

/** 40 small files in `many/` of `source`; `dest` has 2 of them, different. */
async function manyFiles(source: string, dest: string): Promise<void> {
  await Deno.mkdir(join(source, "many"));
  await Deno.mkdir(join(dest, "many"));
  for (let i = 1; i <= 40; i++) {
    await Deno.writeTextFile(join(source, "many", `f${i}.txt`), `${i}\n`);
  }
  for (const i of [7, 23]) {
    await Deno.writeTextFile(join(dest, "many", `f${i}.txt`), "other\n");
  }
}

/** Runs a `--once` server into `dest` and `client` against it, in panes. */
async function session(
  name: string,
  dest: string,
  source: string,
  flag: string,
): Promise<{ client: string; server: string; rows: string[] }> {
  await using server = await Pane.start(
    `ft-${name}-server`,
    command("server", `--host 127.0.0.1 --port 0 --once --dir ${dest}`),
    100,
  );
  const listening = await server.waitFor(/Listening on [^ ]+:\d+/);
  const port = Number(listening.match(/Listening on [^ ]+:(\d+)/)![1]);
  await using client = await Pane.start(
    `ft-${name}-client`,
    command("client", `${flag} 127.0.0.1:${port} many`, source),
    80,
  );
  const screen = await client.waitFor(/exit=\d+/);
  return {
    client: screen,
    server: await server.waitFor(/exit=\d+/),
    rows: await client.rows(),
  };
}

Deno.test("on a terminal, --rename shows each new name and --skip-existing names the skipped in its summary", async () => {
  if (!(await hasTmux())) {
    console.log(SKIPPED);
    return;
  }
  await using source = await tempDir();
  await using renamed = await tempDir();
  await manyFiles(source.path, renamed.path);
  const rename = await session("rename", renamed.path, source.path, "--rename");
  assert.match(rename.client, /exit=0/);
  assert.doesNotMatch(rename.client, /^(verified|failed) {2}/m, rename.client);
  for (const i of [7, 23]) {
    assert.ok(
      rename.rows.includes(
        `sent as  many/f${i} (1).txt  (the server has a different many/f${i}.txt)`,
      ),
      rename.client,
    );
  }
  assert.ok(
    rename.rows.includes(
      "40 of 40 files sent and verified, 0 already there, 0 failed",
    ),
    rename.client,
  );
  assert.match(
    rename.server,
    /\] done: 40 of 40 files received and verified, 0 already there, 0 failed; /,
  );

  await using skipped = await tempDir();
  await Deno.mkdir(join(skipped.path, "many"));
  for (const i of [7, 23]) {
    await Deno.writeTextFile(
      join(skipped.path, "many", `f${i}.txt`),
      "other\n",
    );
  }
  const skip = await session(
    "skip",
    skipped.path,
    source.path,
    "--skip-existing",
  );
  assert.match(skip.client, /exit=0/);
  assert.doesNotMatch(skip.client, /^skipped {2}|failed {2}/m, skip.client);
  for (
    const line of [
      /^38 of 40 files sent and verified, 0 already there, 2 skipped, 0 failed$/,
      /^Skipped, a different file has the name on the server: many\/f(7|23)\.txt,( many\/f(7|23)\.txt)?$/,
    ]
  ) {
    assert.ok(
      skip.rows.some((row) => line.test(row)),
      `${line}:\n${skip.client}`,
    );
  }
  assert.match(
    skip.server,
    /\] done: 38 of 40 files received and verified, 0 already there, 2 skipped, 0 failed; /,
  );
});
