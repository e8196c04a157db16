import assert from "node:assert/strict";
import { join } from "node:path";
import { listTree, ROOT, startServer, tempDir } from "./helpers.ts";
import { hasTmux, tmux, waitForNoEcho, waitForPane } from "./tmux.ts";

const CODE = "4071-apple-river-stone";
// capture-pane leaves out the spaces that end a row.
const PROMPT = "Code \\(as shown by the server\\):";

/** Sends `keys` to the pane as tmux key names (Tab, C-u, BSpace, Enter). */
async function press(session: string, ...keys: string[]): Promise<void> {
  for (const key of keys) await tmux("send-keys", "-t", session, key);
}

/** Types `text` into the pane as it is. */
async function typeText(session: string, text: string): Promise<void> {
  await tmux("send-keys", "-t", session, "-l", text);
}

/** The last line of the pane that is not empty matches `pattern`. */
async function lastLine(session: string, pattern: RegExp): Promise<void> {
  await waitForPane(
    session,
    new RegExp(`${pattern.source}\\n*$`),
  );
}

Deno.test("the code prompt echoes, completes words with Tab, clears with Ctrl-U, and asks again after an unknown word", async () => {
  if (!(await hasTmux())) {
    console.log("skipped: tmux is not installed (Debian package tmux)");
    return;
  }
  await using dest = await tempDir();
  await using server = await startServer([
    "--dir",
    dest.path,
    "--once",
    "--code",
    CODE,
  ]);
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
    await waitForPane(session, new RegExp(PROMPT));
    // The prompt is written once the terminal's own echo is off: what
    // shows from then on is the prompt's.
    await waitForNoEcho(session);
    await typeText(session, "8710-jol");
    await lastLine(session, new RegExp(`${PROMPT} 8710-jol`));
    await press(session, "Tab");
    await lastLine(session, new RegExp(`${PROMPT} 8710-jolly-`));
    await press(session, "C-u");
    await lastLine(session, new RegExp(`${PROMPT}`));
    // A typo: said, with the word it resembles, and asked again with what
    // was typed left to correct.
    await typeText(session, "4071-aple-river-stone");
    await press(session, "Enter");
    await lastLine(
      session,
      new RegExp(
        `Unknown word "aple" in code: did you mean "apple"\\? Type it again \\(Tab completes a word, Ctrl-U clears\\)\\n${PROMPT} 4071-aple-river-stone`,
      ),
    );
    await press(session, "C-u");
    await typeText(session, "4071-app");
    await press(session, "Tab");
    await typeText(session, "riv");
    await press(session, "Tab");
    await typeText(session, "stonx");
    await press(session, "BSpace");
    await typeText(session, "e");
    await lastLine(session, new RegExp(`${PROMPT} ${CODE}`));
    await press(session, "Enter");
    const screen = await waitForPane(session, /exit=\d+/);
    assert.match(screen, /exit=0/);
    assert.match(screen, /1 of 1 files sent and verified/);
    // Only the code as finally typed went to the server: it was accepted.
    assert.doesNotMatch(screen, /8710-jol8710|jolly-4071/);
  } finally {
    await tmux("kill-session", "-t", session).catch(() => "");
  }
  assert.equal((await server.exited()).code, 0);
  assert.deepEqual(await listTree(dest.path), ["main.txt"]);
});
