/**
 * What each side prints on a real terminal (tmux): the client's failures
 * and summary without a line per file, the server's line per session and
 * its live line per session under way, and a narrowed terminal.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { PATIENCE_MS } from "./conditions.ts";
import { FaultProxy } from "./fault_proxy.ts";
import {
  finish,
  randomFile,
  ROOT,
  runClient,
  sleep,
  spawnClient,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";
import { hasTmux, Pane, tmux } from "./tmux.ts";

const SKIPPED = "skipped: tmux is not installed (Debian package tmux)";

/**
 * A shell command line running `program` with `args` in `cwd`, then
 * saying its exit status and waiting.
 */
function command(
  program: "client" | "server",
  args: string,
  cwd = ROOT,
): string {
  return `cd ${cwd} && env FT_CODE=${TEST_CODE} ${Deno.execPath()} run -A ${
    join(ROOT, `${program}.ts`)
  } ${args}; echo "exit=$?"; sleep 120`;
}

/** The port a server in `pane` listens on, once it says so. */
async function portOf(pane: Pane): Promise<number> {
  const screen = await pane.waitFor(/Listening on [^ ]+:\d+/);
  return Number(screen.match(/Listening on [^ ]+:(\d+)/)![1]);
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
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

Deno.test("on a terminal the client shows failures and a summary naming them, the server a line per session", async () => {
  if (!(await hasTmux())) {
    console.log(SKIPPED);
    return;
  }
  await using source = await tempDir();
  await using dest = await tempDir();
  await manyFiles(source.path, dest.path);
  await using server = await Pane.start(
    "ft-out-server",
    command("server", `--host 127.0.0.1 --port 0 --once --dir ${dest.path}`),
    100,
  );
  const port = await portOf(server);
  await using client = await Pane.start(
    "ft-out-client",
    command("client", `127.0.0.1:${port} many`, source.path),
    80,
  );
  const screen = await client.waitFor(/exit=\d+/);
  assert.match(screen, /exit=1/);
  // No line per file: only the two that failed, and the summary.
  assert.doesNotMatch(screen, /verified {2}|already there {2}/, screen);
  assert.match(screen, /^failed {2}many\/f7\.txt: a different file/m);
  assert.match(screen, /^failed {2}many\/f23\.txt: a different file/m);
  // Each line of the summary fits the 80 columns: a row of its own.
  const rows = await client.rows();
  for (
    const line of [
      /^38 of 40 files sent and verified, 0 already there, 2 failed$/,
      /^\d+ B in [\d.]+ s \([^)]+\)$/,
      /^Failed: many\/f(7|23)\.txt, many\/f(7|23)\.txt$/,
    ]
  ) {
    assert.ok(rows.some((row) => line.test(row)), `${line}:\n${screen}`);
  }
  // The server: one line for the session, in the client's words, and the
  // failures; no line per connection or file.
  const served = await server.waitFor(/exit=\d+/);
  assert.equal(
    served.match(
      /^\[127\.0\.0\.1:\d+\] done: 38 of 40 files received and verified, 0 already there, 2 failed; \d+ B in [\d.]+ s/gm,
    )?.length,
    1,
    served,
  );
  assert.equal(served.match(/\] failed many\/f(7|23)\.txt/g)?.length, 2);
  assert.doesNotMatch(served, /\] connected|\] received /, served);
});

Deno.test("--verbose on a terminal adds the server's lines per connection and per file", async () => {
  if (!(await hasTmux())) {
    console.log(SKIPPED);
    return;
  }
  await using dest = await tempDir();
  await using server = await Pane.start(
    "ft-out-verbose",
    command(
      "server",
      `--host 127.0.0.1 --port 0 --once --verbose --dir ${dest.path}`,
    ),
    120,
  );
  const port = await portOf(server);
  const client = await runClient([
    `127.0.0.1:${port}`,
    join(ROOT, "main.txt"),
  ]);
  assert.equal(client.code, 0, client.stderr);
  const served = await server.waitFor(/exit=\d+/);
  assert.match(served, /^\[127\.0\.0\.1:\d+\] connected$/m);
  assert.match(served, /^\[127\.0\.0\.1:\d+\] received main\.txt \(367 B/m);
  assert.match(served, /done: 1 of 1 files received and verified/);
});

Deno.test("the server shows a live line for each session under way", async () => {
  if (!(await hasTmux())) {
    console.log(SKIPPED);
    return;
  }
  await using source = await tempDir();
  await using dest = await tempDir();
  for (const name of ["one.bin", "two.bin"]) {
    await randomFile(join(source.path, name), 32 * 1024 * 1024);
  }
  await using server = await Pane.start(
    "ft-out-live",
    command("server", `--host 127.0.0.1 --port 0 --dir ${dest.path}`),
    140,
  );
  const port = await portOf(server);
  // Each client held half-way by its own proxy, however fast it goes.
  await using first = new FaultProxy(port, () => ({ kind: "none" }));
  await using second = new FaultProxy(port, () => ({ kind: "none" }));
  first.pauseAfter(12 * 1024 * 1024);
  second.pauseAfter(12 * 1024 * 1024);
  const clients = [
    runClient([`127.0.0.1:${first.port}`, join(source.path, "one.bin")]),
    runClient([`127.0.0.1:${second.port}`, join(source.path, "two.bin")]),
  ];
  await waitFor(() => first.paused && second.paused, "both clients held");
  const progress =
    /^\[127\.0\.0\.1:\d+\] \[[#-]+\] +\d+% {2}[\d.]+ MiB of 32\.0 MiB {2}.*ETA [\d:-]+ {2}(one|two)\.bin$/gm;
  const during = await server.waitFor(
    new RegExp(`${progress.source}[^]*${progress.source}`, "m"),
  );
  const live = during.match(progress) ?? [];
  assert.equal(live.length, 2, during);
  assert.ok(live.some((line) => line.endsWith("one.bin")), during);
  assert.ok(live.some((line) => line.endsWith("two.bin")), during);
  first.resume();
  second.resume();
  for (const result of await Promise.all(clients)) {
    assert.equal(result.code, 0, result.stderr);
  }
  await server.waitFor(/(done: 1 of 1 files received[^]*){2}/);
  // Both lines went with their sessions.
  const after = await server.settled();
  assert.doesNotMatch(after, /MiB of 32\.0 MiB|ETA/, after);
});

Deno.test("a narrowed terminal shows the progress line once, at its new width", async () => {
  if (!(await hasTmux())) {
    console.log(SKIPPED);
    return;
  }
  await using source = await tempDir();
  await using serverDest = await tempDir();
  const big = join(source.path, "big.bin");
  await randomFile(big, 64 * 1024 * 1024);
  await Deno.writeTextFile(join(source.path, "small.txt"), "small\n");
  await using server = await Pane.start(
    "ft-out-narrow-server",
    command("server", `--host 127.0.0.1 --port 0 --dir ${serverDest.path}`),
  );
  const port = await portOf(server);
  await using proxy = new FaultProxy(port, () => ({ kind: "none" }));
  proxy.pauseAfter(24 * 1024 * 1024);
  await using client = await Pane.start(
    "ft-out-narrow",
    // A line above the progress line: the terminal pushes that one out of
    // sight, rather than the wrapped part of the progress line, when the
    // rewrapped line needs one more row.
    `echo above; ${
      command("client", `127.0.0.1:${proxy.port} ${big} small.txt`, source.path)
    }`,
    150,
  );
  await waitFor(() => proxy.paused, "24 MiB");
  await client.waitFor(/ETA/);
  const wide = (await client.settled()).split("\n").filter((row) => row !== "");
  assert.equal(wide.length, 2, wide.join("\n"));
  assert.ok(wide[1].length > 80, wide[1]);
  await client.resize(60);
  // Redrawn at once on the resize, though nothing moves: one line, fitted.
  await client.waitFor(/^.{0,59}0 of 2 files$/m);
  const rows = (await client.rows()).filter((row) => row !== "");
  assert.deepEqual(rows.length, 1, `stale rows left:\n${rows.join("\n")}`);
  assert.match(rows[0], /^ +\d+% {2}.* {2}0 of 2 files$/);
  proxy.resume();
  const after = await client.waitFor(/exit=\d+/);
  assert.match(after, /exit=0/);
  assert.doesNotMatch(after, /ETA|of 2 files$/m, after);
});

Deno.test("a server stopped in the middle of a session leaves no live line behind", async () => {
  if (!(await hasTmux())) {
    console.log(SKIPPED);
    return;
  }
  await using source = await tempDir();
  await using dest = await tempDir();
  await randomFile(join(source.path, "big.bin"), 32 * 1024 * 1024);
  await using server = await Pane.start(
    "ft-out-stop",
    command("server", `--host 127.0.0.1 --port 0 --dir ${dest.path}`),
    120,
  );
  const port = await portOf(server);
  await using proxy = new FaultProxy(port, () => ({ kind: "none" }));
  proxy.pauseAfter(12 * 1024 * 1024);
  const client = spawnClient([
    "--retries",
    "0",
    `127.0.0.1:${proxy.port}`,
    join(source.path, "big.bin"),
  ]);
  try {
    await waitFor(() => proxy.paused, "12 MiB");
    await server.waitFor(/MiB of 32\.0 MiB/);
    await tmux("send-keys", "-t", server.name, "C-c");
    const after = await server.waitFor(/exit=\d+/);
    assert.match(after, /server: stopping/);
    // The live line is gone; the log line of what was kept stays.
    assert.doesNotMatch(after, /^\s*\d+% |ETA/m, after);
    assert.match(after, /kept [\d.]+ MiB of 32\.0 MiB of "big\.bin"/);
  } finally {
    proxy.resume();
    await finish(client);
  }
});
