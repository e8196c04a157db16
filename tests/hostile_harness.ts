/**
 * The harness of the hostile_*_test.ts files, end-to-end tests of bad
 * input: a real `server.ts` process on loopback faces a misbehaving client
 * (see `hostile_client.ts`), and `client.ts` is given sources it cannot
 * send.
 *
 * The hostile client does the real hello and SPAKE2 key exchange with the
 * test code, and then sends its hostile content in records sealed with the
 * real key, so that the server opens them and judges what is inside; record
 * and key-exchange cases break the layers below instead.
 *
 * For every hostile connection the tests check that (a) the client gets a
 * clear error message over the encrypted channel (or, for a bad hello or
 * key exchange, which happens before there is a channel, the end of the
 * stream), (b) the server logs exactly one line about it on stderr (after a
 * "failed key exchange" line when the attempt got as far as a key share),
 * (c) nothing appears anywhere in the temporary folder, in particular not
 * in the sibling folder "outside", (d) no partial file and no file under
 * the final name is left in the destination, and (e) the same server still
 * serves a normal session afterwards.
 *
 * The server slows down an address after each failed key exchange (see
 * `lib/secure/guess_limiter.ts`), so only the key-exchange test, on its own
 * server, makes key exchanges fail; every other test's connections either
 * fail before their key share or complete the key exchange.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  exists,
  listTree,
  openStagedFiles,
  runClient,
  type ServerProcess,
  sleep,
  stagedFiles,
  stagedPath,
} from "./helpers.ts";
import { STAGING_NAME } from "../lib/store/staging.ts";
import { type Ending, fileEntry, HostileClient } from "./hostile_client.ts";
import {
  encodeHello,
  type Entry,
  type ReceiverMessage,
  Role,
} from "../protocol.ts";

/** Encodes the text the cases send. */
export const encoder = new TextEncoder();
/** The hello a server answers with. */
export const SERVER_HELLO = encodeHello(Role.Server);
// deno-lint-ignore no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Data the server keeps to resume from, in its private staging folder. */
const KEPT = /^dest\/\.ft-staging\/[0-9a-f]{64}\.(part|rec)$/;
/** The line the guess limiter adds before the error of a failed exchange. */
const FAILED_KEY_EXCHANGE =
  /\] failed key exchange: the next attempt from 127\.0\.0\.1 waits \d+ ms$/;
/** What the guess limiter logs when it delayed an attempt. */
const HELD_BACK =
  /\] key exchange held back \d+ ms after failures from 127\.0\.0\.1$/;

/** Lowercase hex SHA-256 of `data`. */
export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** `length` bytes of `fill`. */
export function bytes(length: number, fill = 0x61): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

/** `length` random bytes. */
export function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

/** Asserts that `text` (the `what`) contains `phrase` or matches it. */
export function contains(
  text: string,
  phrase: string | RegExp,
  what: string,
): void {
  if (typeof phrase === "string") {
    assert.ok(
      text.includes(phrase),
      `${what} should contain ${JSON.stringify(phrase)}: ${
        JSON.stringify(text)
      }`,
    );
  } else {
    assert.match(text, phrase, what);
  }
}

/** A hostile case: what the client does and what the server must answer. */
interface HostileCase {
  /** Sends the bad input (after the hello and key exchange, unless `raw`). */
  act: (client: HostileClient) => Promise<void>;
  /** Key phrase of the error message and of the server's log line. */
  phrase: string | RegExp;
  /**
   * What the client must see: an error message (default), the server's
   * hello and then the end of the stream, the end of the stream after what
   * `act` read, or nothing (it hung up itself).
   */
  reply?: "error" | "hello-then-close" | "close" | "none";
  /** Skip the hello and key exchange: `act` starts on a fresh connection. */
  raw?: boolean;
  /**
   * The attempt got as far as its key share and fails the key exchange:
   * the server logs that first, and delays the next attempt.
   */
  failsKeyExchange?: boolean;
  /** Final names that must not exist in the destination afterwards. */
  absent?: string[];
  /** Log lines expected before the error line, such as refusals. */
  logBefore?: RegExp[];
}

/** One server, one temporary folder, and the checks shared by all cases. */
export class Harness {
  readonly root: string;
  readonly dest: string;
  readonly outside: string;
  readonly src: string;
  readonly server: ServerProcess;
  /** What the folder "outside" holds; nothing may ever be added to it. */
  outsideHolds: string[] = [];
  #clients = new Set<HostileClient>();

  constructor(root: string, server: ServerProcess) {
    this.root = root;
    this.dest = join(root, "dest");
    this.outside = join(root, "outside");
    this.src = join(root, "src");
    this.server = server;
  }

  /** Makes dest, outside and src in `root`, then starts a server on dest. */
  static async layout(root: string): Promise<string[]> {
    for (const name of ["dest", "outside", "src"]) {
      await Deno.mkdir(join(root, name));
    }
    return ["--dir", join(root, "dest")];
  }

  get address(): string {
    return `127.0.0.1:${this.server.port}`;
  }

  /** A hostile connection, closed when the current step ends. */
  async connect(): Promise<HostileClient> {
    const client = await HostileClient.connect(this.server.port);
    this.#clients.add(client);
    return client;
  }

  /**
   * Runs `body` as a test step that fails instead of hanging after `ms`;
   * every connection it opened is closed at the end either way.
   */
  step(
    t: Deno.TestContext,
    name: string,
    body: () => Promise<void>,
    ms = 20_000,
  ): Promise<boolean> {
    return t.step(name, async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const work = body();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // Closing the sockets ends any read the body is stuck in.
          for (const client of this.#clients) client.close();
          reject(new Error(`${name}: no outcome within ${ms} ms`));
        }, ms);
      });
      try {
        await Promise.race([work, timeout]);
      } finally {
        clearTimeout(timer);
        for (const client of this.#clients) client.close();
        this.#clients.clear();
        await work.catch(() => {});
      }
    });
  }

  /** Server stderr lines written since `mark` (a length of its stderr). */
  linesSince(mark: number): string[] {
    return this.server.stderr.slice(mark).split("\n").filter((line) =>
      line !== ""
    );
  }

  /** Waits for, then returns, the stderr lines since `mark` about `port`. */
  async logFor(mark: number, port: number, count = 1): Promise<string[]> {
    const prefix = `[127.0.0.1:${port}] `;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const lines = this.linesSince(mark).filter((line) =>
        line.startsWith(prefix) && !HELD_BACK.test(line)
      );
      if (lines.length >= count || Date.now() > deadline) return lines;
      await sleep(10);
    }
  }

  /**
   * Asserts that outside is unchanged and that whatever the server kept to
   * resume from is in its staging folder, never under a final name; then
   * removes it, so that the next case starts afresh.
   */
  async assertClean(): Promise<void> {
    assert.deepEqual(
      await listTree(this.outside),
      this.outsideHolds,
      "nothing was written outside",
    );
    for (const name of await stagedFiles(this.dest)) {
      assert.match(`dest/${STAGING_NAME}/${name}`, KEPT, "only kept data");
      await Deno.remove(join(this.dest, STAGING_NAME, name));
    }
  }

  /**
   * Waits until the server stages `name` with at most `size` bytes (it
   * gathers data before it writes), named or, unnamed, among its open files
   * (lib/store/unnamed_files.ts): the case must have one file in flight.
   */
  async waitForPartial(name: string, size: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    const path = stagedPath(this.dest, name);
    while (Date.now() < deadline) {
      const open = await openStagedFiles(this.server.child.pid, this.dest);
      for (const candidate of [path, ...open.map((file) => file.path)]) {
        const info = await Deno.stat(candidate).catch(() => null);
        if (info !== null && info.size <= size) return;
      }
      await sleep(10);
    }
    throw new Error(`No partial file for ${name} appeared`);
  }

  /**
   * A complete, valid session with an empty manifest on a new connection:
   * proves the server still serves after a hostile one. After a failed key
   * exchange the guess limiter may hold it back, and say so: only then is
   * that one line allowed.
   */
  async probe(mayBeHeldBack = false): Promise<void> {
    const mark = this.server.stderr.length;
    const client = await this.connect();
    await client.handshake();
    await client.send({ type: "manifest", entries: [], more: false });
    assert.deepEqual(await client.expect("decisions"), {
      type: "decisions",
      start: 0,
      items: [],
      more: false,
    });
    await client.send({ type: "done" });
    assert.deepEqual(await client.expect("summary"), {
      type: "summary",
      verified: 0,
      failed: 0,
    });
    assert.equal(await client.receive(), null, "server closes after summary");
    client.close();
    const lines = this.linesSince(mark);
    if (mayBeHeldBack && lines.length === 1) {
      assert.ok(lines[0].startsWith(`[127.0.0.1:${client.port}] `), lines[0]);
      assert.match(lines[0], HELD_BACK);
    } else {
      assert.deepEqual(lines, [], "probe logs no error");
    }
  }

  /** Runs one hostile case and checks (a) to (e). */
  async rejects(hostile: HostileCase): Promise<void> {
    const before = await listTree(this.root);
    const mark = this.server.stderr.length;
    const client = await this.connect();
    if (!hostile.raw) await client.handshake();
    await hostile.act(client);
    const reply = hostile.reply ?? "error";
    // (a) what the client sees
    if (reply === "error") {
      const ending: Ending = await client.readToEnd();
      const errors = ending.messages.filter((m) => m.type === "error");
      assert.equal(
        errors.length,
        1,
        `one error message, got ${JSON.stringify(ending)}`,
      );
      const last = ending.messages.at(-1)!;
      assert.equal(last.type, "error", "the error is the last message");
      for (const message of ending.messages.slice(0, -1)) {
        assert.equal(message.type, "decisions", "only decisions before it");
      }
      const text = (last as { message: string }).message;
      contains(text, hostile.phrase, "error message");
      assert.doesNotMatch(text, CONTROL_CHARS, "no control characters");
    } else if (reply === "hello-then-close") {
      assert.deepEqual(await client.readHello(), SERVER_HELLO, "server hello");
      assert.ok(await client.readsEof(), "then the server closes");
    } else if (reply === "close") {
      assert.ok(await client.readsEof(), "the server closes");
    }
    client.close();
    // (b) one log line about it on the server's stderr
    const priorLines = [
      ...(hostile.failsKeyExchange ? [FAILED_KEY_EXCHANGE] : []),
      ...hostile.logBefore ?? [],
    ];
    // Whether the guess limiter held this attempt back a few milliseconds,
    // after the failures of earlier cases, depends on the machine's speed:
    // its note is not about the case.
    const aboutCase = (line: string) => !HELD_BACK.test(line);
    const lines = (await this.logFor(mark, client.port, priorLines.length + 1))
      .filter(aboutCase);
    assert.equal(
      lines.length,
      priorLines.length + 1,
      `one log line, got ${JSON.stringify(lines)}`,
    );
    assert.deepEqual(
      this.linesSince(mark).filter(aboutCase),
      lines,
      "nothing else on stderr",
    );
    for (const [i, pattern] of priorLines.entries()) {
      assert.match(lines[i], pattern);
    }
    const line = lines.at(-1)!;
    contains(line, hostile.phrase, "log line");
    assert.match(line, /\] error: /);
    assert.doesNotMatch(line, CONTROL_CHARS, "log line is one clean line");
    // (c) and (d) nothing written anywhere, but for hidden data the server
    // keeps to resume from, which its log line mentions
    const after = await listTree(this.root);
    const kept = after.filter((path) => KEPT.test(path));
    assert.deepEqual(
      after.filter((path) => !kept.includes(path)),
      before,
      "no file changed",
    );
    if (kept.length > 0) {
      assert.match(
        line,
        /; kept [\d.]+ \w+ of [\d.]+ \w+ of ".*" for a resume/,
      );
    }
    await this.assertClean();
    for (const name of hostile.absent ?? []) {
      assert.ok(!await exists(join(this.dest, name)), `${name} not created`);
    }
    // (e) the server still serves
    await this.probe(hostile.failsKeyExchange);
  }

  /** Sends a small file with the real client; it must be verified. */
  async normalTransfer(name: string): Promise<void> {
    const content = `a normal transfer of ${name}\n`;
    const source = join(this.src, name);
    await Deno.writeTextFile(source, content);
    const mark = this.server.stderr.length;
    const result = await runClient([this.address, source]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /1 of 1 files sent and verified/);
    assert.equal(await Deno.readTextFile(join(this.dest, name)), content);
    assert.deepEqual(this.linesSince(mark), []);
    await this.assertClean();
  }
}

/** Sends a manifest and returns the server's decisions for it. */
export async function offer(
  client: HostileClient,
  entries: Entry[],
): Promise<ReceiverMessage> {
  await client.send({ type: "manifest", entries, more: false });
  return await client.expect("decisions");
}

/** A manifest with one entry whose fields are overridden by `changes`. */
export function manifestWith(
  changes: Record<string, unknown>,
): Record<string, unknown> {
  return {
    type: "manifest",
    entries: [{ ...fileEntry("fields.txt", 3), ...changes }],
    more: false,
  };
}
