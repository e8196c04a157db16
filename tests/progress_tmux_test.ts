import assert from "node:assert/strict";
import { join } from "node:path";
import { PATIENCE_MS } from "./conditions.ts";
import { FaultProxy } from "./fault_proxy.ts";
import {
  listTree,
  randomFile,
  ROOT,
  sleep,
  startServer,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";
import { hasTmux, tmux, waitForPane } from "./tmux.ts";

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * Runs the client in a tmux pane against a proxy that holds the transfer
 * half-way, so that the pane can be read while the progress line is up;
 * `noColor` sets NO_COLOR. Returns the pane during and after the transfer
 * and every byte the client wrote to its terminal.
 */
async function transferInPane(noColor: boolean, flags = ""): Promise<{
  during: string;
  after: string;
  raw: string;
}> {
  await using source = await tempDir();
  await using dest = await tempDir();
  const big = join(source.path, "big.bin");
  await randomFile(big, 64 * 1024 * 1024);
  await Deno.writeTextFile(join(source.path, "small.txt"), "small\n");
  await using server = await startServer(["--dir", dest.path, "--once"]);
  await using proxy = new FaultProxy(server.port, () => ({ kind: "none" }));
  // Half-way however fast the transfer goes: the line is up while held.
  proxy.pauseAfter(24 * 1024 * 1024);
  const session = `ft-progress-${Deno.pid}-${noColor}${flags}`;
  const rawPath = join(source.path, "pane.raw");
  const go = join(source.path, "go");
  const env = noColor ? "NO_COLOR=1" : "-u NO_COLOR";
  const command = `env ${env} FT_CODE=${TEST_CODE} ${Deno.execPath()} run -A ${
    join(ROOT, "client.ts")
  } ${flags} 127.0.0.1:${proxy.port} ${big} ${
    join(source.path, "small.txt")
  }; echo "exit=$?"; sleep 60`;
  await tmux(
    "new-session",
    "-d",
    "-s",
    session,
    "-x",
    "150",
    "-y",
    "20",
    `while [ ! -e ${go} ]; do sleep 0.05; done; ${command}`,
  );
  try {
    // Everything the client writes to the terminal, escape codes included:
    // the client starts once the pipe is in place.
    await tmux("pipe-pane", "-o", "-t", session, `cat > ${rawPath}`);
    await Deno.writeTextFile(go, "");
    await waitFor(() => proxy.paused, "24 MiB");
    // Held, the client stops drawing once its socket is full: the screen
    // that no longer changes is the one to read.
    let during = await waitForPane(session, /ETA/);
    for (let tries = 0; tries < 100; tries++) {
      await sleep(200);
      const again = await tmux("capture-pane", "-p", "-t", session);
      if (again === during) break;
      during = again;
    }
    proxy.resume();
    const after = await waitForPane(session, /exit=\d+/);
    await tmux("pipe-pane", "-t", session);
    const raw = await Deno.readTextFile(rawPath);
    assert.equal((await server.exited()).code, 0);
    assert.deepEqual(await listTree(dest.path), ["big.bin", "small.txt"]);
    return { during, after, raw };
  } finally {
    await tmux("kill-session", "-t", session).catch(() => "");
  }
}

Deno.test("on a terminal the client shows live progress, then a summary", async () => {
  if (!(await hasTmux())) {
    console.log("skipped: tmux is not installed (Debian package tmux)");
    return;
  }
  const { during, after, raw } = await transferInPane(false);
  // Overall bar and share, bytes of all, rate, time left, files, current file.
  assert.match(
    during,
    /\[#*-*\] +\d+% {2}[\d.]+ MiB of 64\.0 MiB {2}[\d.]+ [KMG]?i?B\/s {2}ETA [\d:-]+ {2}0 of 2 files {2}\S*big\.bin \d+%/,
    during,
  );
  // On a terminal the display and the summary say it all: no line per file.
  assert.doesNotMatch(after, /verified {2}(big\.bin|small\.txt)/, after);
  assert.match(
    after,
    /2 of 2 files sent and verified, 0 already there, 0 failed\n64\.0 MiB in [\d.]+ s \([^)]+\); all verified by SHA-256/,
  );
  assert.match(after, /exit=0/);
  assert.doesNotMatch(after, /ETA/, "the progress line is gone at the end");
  assert.ok(raw.includes("\r\x1b[J["), "redrawn in place with escape codes");
});

Deno.test("with NO_COLOR the progress line uses no escape codes", async () => {
  if (!(await hasTmux())) {
    console.log("skipped: tmux is not installed (Debian package tmux)");
    return;
  }
  const { during, after, raw } = await transferInPane(true);
  assert.match(during, /ETA/);
  assert.match(after, /all verified by SHA-256/);
  assert.doesNotMatch(after, /ETA/);
  assert.match(raw, /\r\[[#-]+\] +\d+% /, "redrawn with carriage returns");
  // Deno itself clears its loading line with escape codes before the
  // program starts: only what follows is the client's.
  const ours = raw.slice(raw.indexOf("\r["));
  assert.ok(!ours.includes("\x1b"), `escape codes in ${JSON.stringify(ours)}`);
});

Deno.test("with --verbose the client lists each file on a terminal too", async () => {
  if (!(await hasTmux())) {
    console.log("skipped: tmux is not installed (Debian package tmux)");
    return;
  }
  const { during, after } = await transferInPane(false, "--verbose");
  assert.match(during, /ETA/);
  assert.match(
    after,
    /verified {2}big\.bin {2}64\.0 MiB {2}sha256:[0-9a-f]{8}/,
  );
  assert.match(after, /verified {2}small\.txt {2}6 B {2}sha256:[0-9a-f]{8}/);
  assert.match(after, /all verified by SHA-256/);
});
