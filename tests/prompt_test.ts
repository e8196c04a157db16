import assert from "node:assert/strict";
import { join } from "node:path";
import { listTree, ROOT, startServer, tempDir, TEST_CODE } from "./helpers.ts";
import { hasTmux, tmux, waitForNoEcho, waitForPane } from "./tmux.ts";

Deno.test("the client asks for the code on a terminal and does not echo it", async () => {
  if (!(await hasTmux())) {
    console.log("skipped: tmux is not installed (Debian package tmux)");
    return;
  }
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path, "--once"]);
  const session = `ft-prompt-${Deno.pid}`;
  const command =
    `env -u FT_CODE ${Deno.execPath()} run -A ${join(ROOT, "client.ts")} ` +
    `127.0.0.1:${server.port} ${
      join(ROOT, "main.txt")
    }; echo "exit=$?"; sleep 30`;
  await tmux(
    "new-session",
    "-d",
    "-s",
    session,
    "-x",
    "120",
    "-y",
    "20",
    command,
  );
  try {
    await waitForPane(session, /Code \(as shown by the server\):/);
    // The prompt is written just before echo goes off: type only then.
    await waitForNoEcho(session);
    await tmux("send-keys", "-t", session, "-l", TEST_CODE);
    await tmux("send-keys", "-t", session, "Enter");
    const screen = await waitForPane(session, /exit=\d+/);
    assert.match(screen, /exit=0/);
    assert.match(screen, /1 of 1 files sent and verified/);
    assert.ok(!screen.includes(TEST_CODE), `the code was echoed:\n${screen}`);
  } finally {
    await tmux("kill-session", "-t", session).catch(() => "");
  }
  assert.equal((await server.exited()).code, 0);
  assert.deepEqual(await listTree(dest.path), ["main.txt"]);
});
