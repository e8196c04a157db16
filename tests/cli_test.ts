import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, PATIENCE_MS } from "./conditions.ts";
import {
  listTree,
  randomFile,
  ROOT,
  runClient,
  startServer,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";

/** The event types of docs/EVENTS.md. */
const EVENT_TYPES = new Set([
  "listening",
  "connected",
  "waiting",
  "handshake",
  "checking",
  "file-start",
  "progress",
  "file-verified",
  "file-skipped",
  "file-failed",
  "done",
  "error",
  "warning",
]);

type Event = { type: string; time: string } & Record<string, unknown>;

/** Every line of `text` as an event, checking the fields all events have. */
function events(text: string): Event[] {
  const lines = text.split("\n");
  assert.equal(lines.pop(), "", "output ends with a newline");
  return lines.map((line) => {
    const event = JSON.parse(line);
    assert.ok(EVENT_TYPES.has(event.type), `unknown type in ${line}`);
    assert.equal(Object.keys(event)[0], "type", "type comes first");
    assert.ok(!Number.isNaN(Date.parse(event.time)), `time in ${line}`);
    return event;
  });
}

/**
 * Checks that `list` is `head`, then for each of `paths` in turn its
 * file-start, the first of them followed by a progress event, and its
 * file-verified after it, with more progress events anywhere among them,
 * then done. How many progress events come, and whether one file is
 * verified before the next starts, depend on the machine's speed.
 */
function assertTransfer(list: Event[], head: string[], paths: string[]): void {
  const types = list.map((event) => event.type);
  assert.deepEqual(types.slice(0, head.length), head, types.join(" "));
  assert.equal(types.at(-1), "done", types.join(" "));
  const body = list.slice(head.length, -1);
  assert.deepEqual(
    body.slice(0, 2).map((event) => event.type),
    ["file-start", "progress"],
    types.join(" "),
  );
  for (const type of ["file-start", "file-verified"]) {
    const named = body.filter((event) => event.type === type);
    assert.deepEqual(named.map((event) => event.path), paths, type);
  }
  for (const path of paths) {
    const at = (type: string) =>
      body.findIndex((event) => event.type === type && event.path === path);
    assert.ok(at("file-start") < at("file-verified"), types.join(" "));
  }
  const others = body.filter((event) =>
    !["file-start", "progress", "file-verified"].includes(event.type)
  );
  assert.deepEqual(others, [], types.join(" "));
}

Deno.test("--json: both sides write each event as one JSON line on stdout", async () => {
  await using dest = await tempDir();
  await using source = await tempDir();
  const big = join(source.path, "big.bin");
  const bigBytes = await randomFile(big, 3 * 1024 * 1024);
  await using server = await startServer([
    "--dir",
    dest.path,
    "--once",
    "--json",
  ]);
  const result = await runClient([
    "--json",
    `127.0.0.1:${server.port}`,
    big,
    join(ROOT, "main.txt"),
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "", "nothing but events");
  const client = events(result.stdout);
  assertTransfer(client, ["connected", "handshake"], ["big.bin", "main.txt"]);
  assert.equal(client[0].peer, `127.0.0.1:${server.port}`);
  assert.equal(client[0].attempt, 1);
  assert.equal(client[1].tls, false);
  const verified = client.filter((event) => event.type === "file-verified");
  assert.deepEqual(verified.map((event) => event.path), [
    "big.bin",
    "main.txt",
  ]);
  assert.equal(verified[0].size, bigBytes.length);
  assert.match(String(verified[0].sha256), /^[0-9a-f]{64}$/);
  const progress = client.find((event) => event.type === "progress")!;
  assert.equal(progress.totalBytes, bigBytes.length + 367);
  assert.equal(progress.totalFiles, 2);
  assert.deepEqual(client.at(-1), {
    ...client.at(-1),
    type: "done",
    ok: true,
    files: 2,
    verified: 2,
    skipped: 0,
    failed: 0,
    bytes: bigBytes.length + 367,
  });

  const finished = await server.exited();
  assert.equal(finished.code, 0);
  assert.equal(finished.stderr, "");
  const served = events(finished.stdout);
  assertTransfer(served, ["listening", "connected", "handshake"], [
    "big.bin",
    "main.txt",
  ]);
  const listening = served[0];
  assert.equal(listening.port, server.port);
  assert.equal(listening.dir, await Deno.realPath(dest.path));
  assert.equal(listening.code, null, "a given code stays out of the events");
  for (const event of served.slice(1)) {
    assert.match(String(event.peer), /^127\.0\.0\.1:\d+$/);
  }
  assert.equal(served.at(-1)!.ok, true);
  assert.deepEqual(await listTree(dest.path), ["big.bin", "main.txt"]);
});

Deno.test("--json: a file already there and a fatal error are events too", async () => {
  await using dest = await tempDir();
  await Deno.copyFile(join(ROOT, "main.txt"), join(dest.path, "main.txt"));
  await using server = await startServer([
    "--dir",
    dest.path,
    "--once",
    "--json",
  ]);
  const again = await runClient([
    "--json",
    `127.0.0.1:${server.port}`,
    "main.txt",
    join(ROOT, "deno.json"),
  ]);
  assert.equal(again.code, 0, again.stderr);
  const client = events(again.stdout);
  const skipped = client.find((e) => e.type === "file-skipped");
  assert.equal(skipped?.path, "main.txt");
  assert.equal(skipped?.reason, "already-there");
  // Hashed to prove it is there, before the answer: both sides say so.
  const checking = { path: "main.txt", size: 367, number: 1, count: 1 };
  const checked = client.findIndex((e) => e.type === "checking");
  assert.deepEqual(client[checked], { ...client[checked], ...checking });
  assert.ok(checked < client.indexOf(skipped!), "checked, then skipped");
  const served = events((await server.exited()).stdout);
  const serverChecking = served.find((e) => e.type === "checking");
  assert.deepEqual(serverChecking, { ...serverChecking, ...checking });
  // The server counts as the client does: 1 of 2 received, 1 already there.
  const done = served.at(-1)!;
  assert.deepEqual(done, {
    ...done,
    type: "done",
    files: 2,
    verified: 2,
    skipped: 1,
    failed: 0,
  });
  assert.deepEqual(client.at(-1), {
    ...client.at(-1),
    files: 2,
    verified: 1,
    skipped: 1,
  });

  // The server is gone: connection refused.
  const failed = await runClient([
    "--json",
    `127.0.0.1:${server.port}`,
    "main.txt",
  ]);
  assert.equal(failed.code, 1);
  const last = events(failed.stdout).at(-1)!;
  assert.equal(last.type, "error");
  assert.equal(last.fatal, true);
  assert.match(String(last.message), /refused.*is server\.ts running there\?/);
  assert.equal(failed.stderr.trim().split("\n").length, 1, failed.stderr);
});

/**
 * Waits until something listens on `port`, seen in /proc/net/tcp rather
 * than by connecting, which the server would report.
 */
async function waitForListening(port: number): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")} `;
  const deadline = Date.now() + PATIENCE_MS;
  while (Date.now() < deadline) {
    const table = await Deno.readTextFile("/proc/net/tcp");
    // State 0A is LISTEN.
    if (
      table.split("\n").some((row) => row.includes(hex) && / 0A /.test(row))
    ) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`Nothing listens on port ${port}`);
}

Deno.test({
  name: "--quiet prints nothing when all goes well",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dest = await tempDir();
    const port = freePort();
    const server = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ROOT, "server.ts"),
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--dir",
        dest.path,
        "--once",
        "--quiet",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { FT_CODE: TEST_CODE },
    }).spawn();
    const finished = server.output();
    await waitForListening(port);
    const result = await runClient([
      "--quiet",
      `127.0.0.1:${port}`,
      "main.txt",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.equal(result.stderr, "");
    const output = await finished;
    assert.equal(output.code, 0);
    assert.equal(output.stdout.length, 0);
    assert.equal(output.stderr.length, 0);
    assert.deepEqual(await listTree(dest.path), ["main.txt"]);
  },
});

Deno.test({
  name: "--quiet still prints the summary when a file failed, on both sides",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dest = await tempDir();
    await Deno.writeTextFile(join(dest.path, "main.txt"), "not the same\n");
    const port = freePort();
    const server = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ROOT, "server.ts"),
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--dir",
        dest.path,
        "--once",
        "--quiet",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { FT_CODE: TEST_CODE },
    }).spawn();
    const finished = server.output();
    await waitForListening(port);
    const result = await runClient([
      "--quiet",
      `127.0.0.1:${port}`,
      "main.txt",
      "deno.json",
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /^failed {2}main\.txt: a different file[^\n]*\n1 of 2 files sent and verified, 0 already there, 1 failed\n[^\n]+\nFailed: main\.txt\n$/,
    );
    const output = await finished;
    assert.equal(output.code, 1);
    assert.equal(new TextDecoder().decode(output.stdout), "");
    assert.match(
      new TextDecoder().decode(output.stderr),
      /^\[127\.0\.0\.1:\d+\] failed main\.txt: [^\n]+\n\[127\.0\.0\.1:\d+\] done: 1 of 2 files received and verified, 0 already there, 1 failed; [^\n]+\n$/,
    );
  },
});

Deno.test("without a terminal the output has no escape codes or redraws", async () => {
  await using dest = await tempDir();
  await using source = await tempDir();
  const big = join(source.path, "big.bin");
  await randomFile(big, 8 * 1024 * 1024);
  await using server = await startServer(["--dir", dest.path, "--once"]);
  const result = await runClient([`127.0.0.1:${server.port}`, big]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^verified {2}big\.bin {2}8\.0 MiB/m);
  assert.match(
    result.stdout,
    /^1 of 1 files sent and verified, 0 already there, 0 failed\n8\.0 MiB in [\d.]+ s \([^)]+\); all verified by SHA-256\n$/m,
  );
  for (const text of [result.stdout, result.stderr]) {
    assert.ok(!text.includes("\x1b") && !text.includes("\r"), text);
  }
});

Deno.test("--version and --help answer on stdout with status 0", async () => {
  for (const program of ["client", "server"]) {
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", join(ROOT, `${program}.ts`), ...args],
        stdin: "null",
      }).output();
    const version = await run(["--version"]);
    assert.equal(version.code, 0);
    assert.match(
      new TextDecoder().decode(version.stdout),
      new RegExp(`^ft-${program} \\d+\\.\\d+\\.\\d+ \\(protocol 4, Deno `),
    );
    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    const text = new TextDecoder().decode(help.stdout);
    assert.match(text, /Examples:/);
    assert.match(text, /Exit status: 0/);
    // An 80-column terminal shows each line as one.
    for (const line of text.split("\n")) {
      assert.ok(line.length <= 80, `${program} --help: ${line}`);
    }
  }
});

Deno.test("a bad flag or value is one line and exit status 2", async () => {
  const cases: [string, string[], RegExp][] = [
    ["client", ["--bogus"], /^client: Unknown option --bogus \(see --help\)$/],
    ["client", ["--retries"], /^client: Option --retries needs a value$/],
    ["client", ["--retries", "many", "x"], /^client: --retries/],
    ["client", ["x", "-"], /^client: Sending standard input \(-\) needs/],
    ["client", ["--name", "a", "x", "f"], /^client: --name only applies/],
    ["client", ["--name", "../a", "x", "-"], /^client: --name must be a file/],
    ["server", ["--once=yes"], /^server: Option --once takes no value$/],
    ["server", ["--stdout"], /^server: --stdout needs --once/],
    ["server", ["--port", "99999"], /^server: /],
    ["server", ["--max-size", "lots"], /^server: --max-size/],
    // Each says the way out.
    [
      "client",
      ["::1:33343", "x"],
      /put the address in brackets: \[::1\]:33343$/,
    ],
    [
      "client",
      ["--overwrite", "x"],
      /^client: --overwrite only applies with --get: a server replaces the files it receives only when started with --overwrite/,
    ],
    [
      "client",
      ["--code-file", "/dev/null", "127.0.0.1:1", join(ROOT, "main.txt")],
      /^client: Code file \/dev\/null has no code on its first line: write the code there$/,
    ],
    [
      "server",
      ["--share", join(ROOT, "main.txt"), "--once"],
      /^server: --once does not go with --share: a sharing server already stops after the first complete download/,
    ],
  ];
  for (const [program, args, pattern] of cases) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, `${program}.ts`), ...args],
      stdin: "null",
      env: { FT_CODE: TEST_CODE },
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 2, `${program} ${args.join(" ")}: ${stderr}`);
    assert.equal(stderr.split("\n").length, 2, `one line: ${stderr}`);
    assert.match(stderr.trim(), pattern);
    assert.ok(!stderr.trim().endsWith("."), "no trailing period");
  }
});

Deno.test("a sharing server names what it cannot share in its own words", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "server.ts"), "--share", "/nonexistent-x"],
    stdin: "null",
    env: { FT_CODE: TEST_CODE },
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 1, stderr);
  assert.equal(
    stderr,
    "server: Cannot share /nonexistent-x: no such file or folder\n",
  );
});
