/**
 * Online guessing of the code against a real server: a guesser process
 * from 127.0.0.9 (tests/guesser.ts) while a real client from 127.0.0.1
 * sends a file, invalid key shares, the handshake limit of an attempt that
 * waited for its turn, one that gives up while it waits, and custom codes
 * too weak to be used.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  randomFile,
  ROOT,
  runClient,
  runProgram,
  type ServerProcess,
  sleep,
  startServer,
  tempDir,
} from "./helpers.ts";
import { HandshakeClock } from "../lib/secure/handshake_clock.ts";
import { HostileClient } from "./hostile_client.ts";
import { ANSWER_LENGTH, guessBytes, SourcedSocket } from "./loopback_source.ts";

/** A running tests/guesser.ts process and what it printed. */
class Guesser implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  output = "";
  readonly #read: Promise<void>;

  constructor(port: number, parallel: number, mode: "wrong" | "invalid") {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ROOT, "tests/guesser.ts"),
        String(port),
        String(parallel),
        mode,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.child = child;
    this.#read = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) {
        this.output += decoder.decode(chunk, { stream: true });
      }
    })();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.child.status;
    await this.#read;
  }
}

/** Waits until the server's stderr has `count` lines matching `pattern`. */
async function waitForLines(
  server: ServerProcess,
  pattern: RegExp,
  count: number,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((server.stderr.match(pattern)?.length ?? 0) < count) {
    assert.ok(
      Date.now() < deadline,
      `fewer than ${count} lines ${pattern}:\n${server.stderr}`,
    );
    await sleep(20);
  }
}

const GUESSER_FAILED =
  /^\[127\.0\.0\.9:\d+\] failed key exchange: the next attempt from 127\.0\.0\.9 waits \d+ ms$/gm;
const GUESSER_HELD_BACK =
  /^\[127\.0\.0\.9:\d+\] key exchange held back \d+ ms after failures from 127\.0\.0\.9$/gm;

Deno.test("while a guesser from another address keeps failing, a client with the code sends its file", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path]);
  await using guesser = new Guesser(server.port, 6, "wrong");
  // Its first guesses run at once and fail; its next ones wait their turn
  // while the client from 127.0.0.1 goes ahead.
  await waitForLines(server, GUESSER_FAILED, 3);
  const path = join(source.path, "sent.bin");
  const data = await randomFile(path, 2 * 1024 * 1024);
  const client = await runClient([`127.0.0.1:${server.port}`, path]);
  assert.equal(client.code, 0, client.stderr);
  assert.deepEqual(await Deno.readFile(join(dest.path, "sent.bin")), data);
  assert.match(guesser.output, /answered/);
  // The guesser's attempts are still under way: more connected than ended.
  const count = (text: string, pattern: RegExp) =>
    text.match(pattern)?.length ?? 0;
  const deadline = Date.now() + 30_000;
  while (
    count(server.stdout, /^\[127\.0\.0\.9:\d+\] connected$/gm) <=
      count(server.stderr, /^\[127\.0\.0\.9:\d+\] error: /gm)
  ) {
    assert.ok(Date.now() < deadline, "the guesser stopped");
    await sleep(20);
  }
  // Nothing of it touched 127.0.0.1: no delay, no refusal, no error.
  const ours = server.stderr.split("\n").filter((line) =>
    line.startsWith("[127.0.0.1:")
  );
  assert.deepEqual(ours, [], "the client was not held back");
});

Deno.test("key shares that are not P-256 points count as failed guesses", async () => {
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path]);
  await using guesser = new Guesser(server.port, 1, "invalid");
  await waitForLines(
    server,
    /^\[127\.0\.0\.9:\d+\] error: Invalid key share from client: Invalid PAKE share: not a point on P-256$/gm,
    3,
  );
  // Each one cost curve work, so each one is slowed down like a guess.
  assert.match(
    server.stderr,
    /^\[127\.0\.0\.9:\d+\] failed key exchange: the next attempt from 127\.0\.0\.9 waits 2000 ms$/m,
  );
  assert.match(server.stderr, GUESSER_HELD_BACK);
  assert.doesNotMatch(guesser.output, /answered/);
});

Deno.test("time spent waiting for a turn does not count toward the 30 s handshake limit", async () => {
  await using dest = await tempDir();
  await using server = await startServer([
    "--dir",
    dest.path,
    "--idle-timeout",
    "2m",
  ]);
  // 16 wrong guesses from 127.0.0.1 at once, all under way before the
  // first fails: the next attempt from there waits 20 s.
  const guesses = Array.from(
    { length: 16 },
    () => new SourcedSocket(server.port, "127.0.0.1"),
  );
  await Promise.all(guesses.map(async (socket) => {
    await socket.connected();
    socket.write(guessBytes("wrong-guess-for-the-queue"));
    assert.equal((await socket.receive(ANSWER_LENGTH)).length, ANSWER_LENGTH);
  }));
  for (const socket of guesses) socket.destroy();
  await waitForLines(
    server,
    /error: Client left during key confirmation/gm,
    16,
  );
  assert.match(server.stderr, /waits 20000 ms$/m);
  // One that hangs up right after its share (the end of the stream comes
  // after it) leaves the line at once, uncounted, without its turn.
  const quitter = new SourcedSocket(server.port, "127.0.0.1");
  await quitter.connected();
  quitter.socket.end(guessBytes("wrong-guess-for-the-queue"));
  await server.waitFor(
    /^\[127\.0\.0\.1:\d+\] error: Client left while waiting for its turn to try the code$/m,
  );
  quitter.destroy();
  // The right code now waits for its turn, then takes its time before it
  // confirms: long enough that both together pass 30 s.
  using client = await HostileClient.connect(server.port);
  await client.hello();
  const keys = await client.exchangeShares();
  const held = await server.waitFor(
    new RegExp(
      `^\\[127\\.0\\.0\\.1:${client.port}\\] key exchange held back (\\d+) ms`,
      "m",
    ),
  );
  await sleep(Math.max(1000, 33_000 - Number(held[1])));
  await client.confirm(keys);
  await client.send({ type: "manifest", entries: [], more: false });
  assert.equal((await client.expect("decisions")).type, "decisions");
  await client.send({ type: "done" });
  assert.deepEqual(await client.expect("summary"), {
    type: "summary",
    verified: 0,
    failed: 0,
  });
  assert.doesNotMatch(server.stderr, /Handshake timed out/);
  assert.equal(server.stderr.match(/failed key exchange/g)?.length, 16);
});

Deno.test("a client the guess limiter holds back says that it waits, then sends its file", async () => {
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path]);
  // 16 wrong guesses from 127.0.0.1 at once: the next attempt from there
  // waits 20 s, from the last failure on.
  const guesses = Array.from(
    { length: 16 },
    () => new SourcedSocket(server.port, "127.0.0.1"),
  );
  await Promise.all(guesses.map(async (socket) => {
    await socket.connected();
    socket.write(guessBytes("wrong-guess-for-the-queue"));
    assert.equal((await socket.receive(ANSWER_LENGTH)).length, ANSWER_LENGTH);
  }));
  for (const socket of guesses) socket.destroy();
  await waitForLines(
    server,
    /error: Client left during key confirmation/gm,
    16,
  );
  const client = await runClient([
    "--json",
    `127.0.0.1:${server.port}`,
    join(ROOT, "main.txt"),
  ]);
  assert.equal(client.code, 0, client.stderr);
  const events = client.stdout.trim().split("\n").map((line) =>
    JSON.parse(line)
  );
  assert.deepEqual(
    events.slice(0, 3).map((event) => [event.type, event.reason]),
    [["connected", undefined], ["waiting", "guess-limiter"], [
      "handshake",
      undefined,
    ]],
  );
  assert.equal(events.at(-1).type, "done");
  await server.waitFor(
    /^\[127\.0\.0\.1:\d+\] key exchange held back \d+ ms after failures from 127\.0\.0\.1$/m,
  );
});

Deno.test("the handshake clock stands still while paused", async () => {
  const expiry = Promise.withResolvers<void>();
  let expired = false;
  const clock = new HandshakeClock(40, () => {
    expired = true;
    expiry.resolve();
  });
  clock.pause();
  await sleep(80);
  assert.equal(expired, false, "no expiry while paused");
  clock.resume();
  await expiry.promise;
  let stoppedExpired = false;
  const stopped = new HandshakeClock(20, () => stoppedExpired = true);
  stopped.stop();
  stopped.resume();
  await sleep(40);
  assert.equal(stoppedExpired, false, "no expiry once stopped");
});

Deno.test("both programs refuse a custom code weaker than a generated one", async () => {
  const weak = "Code is too weak (about 3 bits; a generated code has 43): " +
    "use a longer one, or leave it out and the server makes one up";
  const server = await runProgram(Deno.execPath(), [
    "run",
    "-A",
    join(ROOT, "server.ts"),
    "--port",
    "0",
    "--code",
    "123456",
  ]);
  assert.equal(server.code, 2);
  assert.equal(server.stderr.trim(), `server: ${weak}`);
  const client = await runClient(["127.0.0.1:9", "main.txt"], {
    env: { FT_CODE: "123456" },
  });
  assert.equal(client.code, 2);
  assert.equal(client.stderr.trim(), `client: ${weak}`);
});
