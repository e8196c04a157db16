/**
 * What the client shows while nothing moves (tmux): the server's guess
 * limiter holding it back, files being hashed before they are found
 * already there or resumed, and reconnecting after a lost connection.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { HELD_BACK_TEXT } from "../lib/cli/client_display.ts";
import { startFake } from "./fake_server_process.ts";
import { FaultProxy } from "./fault_proxy.ts";
import {
  randomFile,
  ROOT,
  runClient,
  startServer,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";
import { hasTmux, Pane } from "./tmux.ts";

const SKIPPED = "skipped: tmux is not installed (Debian package tmux)";

/** A shell command line running the client with `args`, then waiting. */
function client(args: string): string {
  return `env FT_CODE=${TEST_CODE} ${Deno.execPath()} run -A ${
    join(ROOT, "client.ts")
  } ${args}; echo "exit=$?"; sleep 120`;
}

Deno.test("a client the server holds back says so, and counts the seconds", async () => {
  if (!(await hasTmux())) {
    console.log(SKIPPED);
    return;
  }
  // A server that never answers the key share, as its guess limiter
  // does for a while after wrong codes.
  await using fake = await startFake("hold");
  await using pane = await Pane.start(
    "ft-pause-held",
    client(`127.0.0.1:${fake.port} ${join(ROOT, "main.txt")}`),
  );
  const text = HELD_BACK_TEXT.replaceAll(/[.()]/g, "\\$&");
  const first = await pane.waitFor(new RegExp(`${text} \\((\\d+) s so far\\)`));
  const seconds = Number(first.match(/\((\d+) s so far\)/)![1]);
  // The count goes on while the wait lasts.
  await pane.waitFor(
    new RegExp(
      `${text} \\((${seconds + 1}|${seconds + 2}|${seconds + 3}) s so far\\)`,
    ),
  );
});

Deno.test("without a terminal the hold is one line, and a waiting event with --json", async () => {
  await using fake = await startFake("hold");
  // Well above the 2 s: the idle timeout runs from the server's hello, and
  // the client's scrypt comes before its key share.
  const run = (...flags: string[]) =>
    runClient([
      ...flags,
      "--idle-timeout",
      "8",
      `127.0.0.1:${fake.port}`,
      join(ROOT, "main.txt"),
    ]);
  const [text, json] = await Promise.all([run(), run("--json")]);
  assert.equal(text.code, 1);
  assert.equal(
    text.stdout,
    `${HELD_BACK_TEXT} for its answer\n`,
    text.stdout + text.stderr,
  );
  const events = json.stdout.trim().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(events.map((event) => event.type), [
    "connected",
    "waiting",
    "error",
  ]);
  assert.deepEqual(events[1], {
    ...events[1],
    reason: "guess-limiter",
    peer: `127.0.0.1:${fake.port}`,
    seconds: 2,
  });
});

Deno.test("a file being hashed shows as checking, in place of a silent pause", async () => {
  if (!(await hasTmux())) {
    console.log(SKIPPED);
    return;
  }
  await using source = await tempDir();
  const big = join(source.path, "big.bin");
  await randomFile(big, 16 * 1024 * 1024);
  // A server that has a file of that name and never answers the proof:
  // what the client shows while the server hashes its copy.
  await using fake = await startFake("prove");
  await using pane = await Pane.start(
    "ft-pause-checking",
    client(`127.0.0.1:${fake.port} ${big}`),
  );
  const screen = await pane.waitFor(/checking big\.bin\.\.\./);
  assert.doesNotMatch(screen, /ETA|B\/s/, screen);
});

Deno.test("while the client reconnects its line says so instead of a frozen rate", async () => {
  if (!(await hasTmux())) {
    console.log(SKIPPED);
    return;
  }
  await using source = await tempDir();
  await using dest = await tempDir();
  const big = join(source.path, "big.bin");
  await randomFile(big, 32 * 1024 * 1024);
  await using server = await startServer(["--dir", dest.path]);
  // Cut in the middle, then a connection that never gets anywhere: the
  // client waits out its idle timeout before it tries again.
  await using proxy = new FaultProxy(
    server.port,
    (index) =>
      index === 0
        ? { kind: "cut", afterBytes: 12 * 1024 * 1024 }
        : index === 1
        ? { kind: "stall", afterBytes: 0 }
        : { kind: "none" },
  );
  await using pane = await Pane.start(
    "ft-pause-reconnect",
    client(`--idle-timeout 3 127.0.0.1:${proxy.port} ${big}`),
    120,
  );
  const during = await pane.waitFor(
    /^ +\d+% {2}[\d.]+ MiB of 32\.0 MiB {2}reconnecting, retry [12] of 5\.\.\. \(\d+ s so far\) {2}big\.bin$|^\[[#-]+\] +\d+% {2}[\d.]+ MiB of 32\.0 MiB {2}reconnecting, retry [12] of 5\.\.\. \(\d+ s so far\) {2}big\.bin$/m,
  );
  assert.doesNotMatch(during, /ETA|B\/s/, during);
  const after = await pane.waitFor(/exit=\d+/);
  assert.match(after, /exit=0/);
  assert.match(after, /connection lost: [^\n]*; retrying in [\d.]+ s/);
  assert.match(after, /1 of 1 files sent and verified/);
});
