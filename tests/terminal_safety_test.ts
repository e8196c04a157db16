import assert from "node:assert/strict";
import { join } from "node:path";
import { checkRelativePath, quote, sanitize } from "../protocol.ts";
import {
  listTree,
  ROOT,
  runClient,
  startServer,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";
import { hasTmux, tmux, waitForPane } from "./tmux.ts";

/** What must never reach a terminal raw; newlines end lines. */
const UNSAFE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

function assertSafe(text: string, what: string): void {
  const found = text.replaceAll("\n", "").match(UNSAFE);
  assert.equal(
    found,
    null,
    `${what} holds U+${
      found?.[0].codePointAt(0)?.toString(16).padStart(4, "0")
    }:\n${text}`,
  );
}

/** Shown as "invoiceexe.pdf" on a terminal that applies bidi controls. */
const SPOOF = "invoice\u202efdp.exe\u200b";
/** Not a valid name in the protocol: the client skips it with a warning. */
const CONTROL = "bad\u009b31m.txt";

Deno.test("bidi, zero-width and control characters are shown escaped", () => {
  assert.equal(sanitize(SPOOF), "invoice\\u202efdp.exe\\u200b");
  assert.equal(
    sanitize("\u061c\u200e\u200f\u202a\u2066\u2069\u2060\ufeff\u00ad"),
    "\\u061c\\u200e\\u200f\\u202a\\u2066\\u2069\\u2060\\ufeff\\u00ad",
  );
  assert.equal(
    sanitize("\u007f\u0085\u009b\u2028\u2029"),
    "\\u007f\\u0085\\u009b\\u2028\\u2029",
  );
  // A format character beyond the BMP, as its two UTF-16 units.
  assert.equal(sanitize("a\u{e0001}b"), "a\\udb40\\udc01b");
  // Letters of any script stay as they are.
  const names = "שלום مرحبا नमस्ते 😀 é";
  assert.equal(sanitize(names), names);
  assert.equal(quote(SPOOF), '"invoice\\u202efdp.exe\\u200b"');
});

Deno.test("names keep bidi and zero-width characters; controls are still refused", () => {
  for (const name of [SPOOF, "a\u200db", "\u200fשלום", "نام\u200cها"]) {
    assert.equal(checkRelativePath(name), name);
  }
  assert.throws(() => checkRelativePath(CONTROL), /contains a control/);
});

/** A folder `docs` with the spoofing name and the invalid one. */
async function sources(root: string): Promise<string> {
  const docs = join(root, "docs");
  await Deno.mkdir(docs);
  await Deno.writeTextFile(join(docs, SPOOF), "not really a PDF\n");
  await Deno.writeTextFile(join(docs, CONTROL), "skipped\n");
  return docs;
}

Deno.test("a spoofing name arrives exactly and prints escaped on both sides", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const docs = await sources(source.path);
  await using server = await startServer(["--dir", dest.path, "--once"]);
  const client = await runClient([`127.0.0.1:${server.port}`, docs]);
  // The name with a control character is not sent, which fails the run.
  assert.equal(client.code, 1, client.stderr);
  const finished = await server.exited();
  assert.equal(finished.code, 0, finished.stderr);
  for (
    const [what, text] of Object.entries({
      "client stdout": client.stdout,
      "client stderr": client.stderr,
      "server stdout": finished.stdout,
      "server stderr": finished.stderr,
    })
  ) {
    assertSafe(text, what);
  }
  assert.match(
    client.stdout,
    /^verified {2}docs\/invoice\\u202efdp\.exe\\u200b {2}17 B/m,
  );
  assert.ok(
    client.stderr.includes(
      `warning: Cannot send ${docs}/bad\\u009b31m.txt: Invalid path "docs/bad\\u009b31m.txt": contains a control character\n`,
    ),
    client.stderr,
  );
  assert.match(
    finished.stdout,
    /received docs\/invoice\\u202efdp\.exe\\u200b \(17 B/,
  );
  assert.deepEqual(await listTree(dest.path), ["docs/", `docs/${SPOOF}`]);
});

Deno.test("with --json the lines are safe and decode to the exact name", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const docs = await sources(source.path);
  await using server = await startServer([
    "--dir",
    dest.path,
    "--once",
    "--json",
  ]);
  const client = await runClient(["--json", `127.0.0.1:${server.port}`, docs]);
  assert.equal(client.code, 1, client.stderr);
  const finished = await server.exited();
  assert.equal(finished.code, 0, finished.stderr);
  for (
    const [side, stdout, stderr] of [
      ["client", client.stdout, client.stderr],
      ["server", finished.stdout, finished.stderr],
    ]
  ) {
    assertSafe(stdout, `${side} stdout`);
    assert.equal(stderr, "", `${side} stderr`);
    const events = stdout.trim().split("\n").map((line) => JSON.parse(line));
    const paths = events.filter((event) => event.type === "file-verified")
      .map((event) => event.path);
    assert.deepEqual(paths, [`docs/${SPOOF}`], side);
    if (side === "client") {
      const warning = events.find((event) => event.type === "warning");
      assert.equal(
        warning?.message,
        `Cannot send ${docs}/bad\\u009b31m.txt: Invalid path "docs/bad\\u009b31m.txt": contains a control character`,
      );
      const done = events.find((event) => event.type === "done");
      assert.equal(done?.unsent, 1);
      assert.equal(done?.ok, false);
    }
  }
  assert.deepEqual(await listTree(dest.path), ["docs/", `docs/${SPOOF}`]);
});

Deno.test("server --once --stdout refuses a terminal as standard output", async () => {
  if (!(await hasTmux())) {
    console.log("skipped: tmux is not installed (Debian package tmux)");
    return;
  }
  const session = `ft-stdout-${Deno.pid}`;
  // Standard output and standard error are both the pane.
  const command = `FT_CODE=${TEST_CODE} ${Deno.execPath()} run -A ${
    join(ROOT, "server.ts")
  } --host 127.0.0.1 --port 0 --once --stdout; echo "exit=$?"; sleep 30`;
  await tmux(
    "new-session",
    "-d",
    "-s",
    session,
    "-x",
    "200",
    "-y",
    "20",
    command,
  );
  try {
    const screen = await waitForPane(session, /exit=\d+/);
    assert.match(screen, /exit=2/);
    assert.match(
      screen,
      /^server: Standard output is a terminal: with --stdout, redirect or pipe it, as in: deno run -A server\.ts --once --stdout > FILE$/m,
    );
    assert.doesNotMatch(screen, /Listening/);
  } finally {
    await tmux("kill-session", "-t", session).catch(() => "");
  }
});
