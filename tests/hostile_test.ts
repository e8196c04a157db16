/**
 * End-to-end tests of bad input: a real `server.ts` process on loopback
 * faces a misbehaving client (see `hostile_client.ts`), and `client.ts` is
 * given sources it cannot send.
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
 * `lib/guess_limiter.ts`), so only the key-exchange test, on its own server,
 * makes key exchanges fail; every other test's connections either fail
 * before their key share or complete the key exchange.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  exists,
  listTree,
  runClient,
  type ServerProcess,
  sleep,
  stagedFiles,
  stagedPath,
  startServer,
  tempDir,
} from "./helpers.ts";
import { STAGING_NAME } from "../lib/store/staging.ts";
import { waitForPause } from "./conditions.ts";
import { FaultProxy } from "./fault_proxy.ts";
import {
  type Ending,
  fileEntry,
  folderEntry,
  helloBytes,
  HostileClient,
  jsonBytes,
  rawFrame,
  rawRecord,
} from "./hostile_client.ts";
import { MAX_RECORD_BODY } from "../lib/secure/record.ts";
import {
  encodeHello,
  type Entry,
  FrameType,
  MAX_ENTRIES,
  MAX_FILE_SIZE,
  MAX_FRAME_PAYLOAD,
  MAX_MTIME_MS,
  PROTOCOL_VERSION,
  quote,
  Role,
  type ServerMessage,
} from "../protocol.ts";

const encoder = new TextEncoder();
const SERVER_HELLO = encodeHello(Role.Receiver);
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

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function bytes(length: number, fill = 0x61): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

function contains(text: string, phrase: string | RegExp, what: string): void {
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
class Harness {
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
        line.startsWith(prefix)
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
   * Waits until dest holds a partial file of `name` with at most `size`
   * bytes: the server gathers data in memory before it writes, so the file
   * may still be shorter than what was sent.
   */
  async waitForPartial(name: string, size: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    const path = stagedPath(this.dest, name);
    while (Date.now() < deadline) {
      const info = await Deno.stat(path).catch(() => null);
      if (info !== null && info.size <= size) return;
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
    const lines = await this.logFor(mark, client.port, priorLines.length + 1);
    assert.equal(
      lines.length,
      priorLines.length + 1,
      `one log line, got ${JSON.stringify(lines)}`,
    );
    assert.deepEqual(this.linesSince(mark), lines, "nothing else on stderr");
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
    if (kept.length > 0) assert.match(line, /; kept \d+ of \d+ bytes of /);
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
async function offer(
  client: HostileClient,
  entries: Entry[],
): Promise<ServerMessage> {
  await client.send({ type: "manifest", entries, more: false });
  return await client.expect("decisions");
}

/** A manifest with one entry whose fields are overridden by `changes`. */
function manifestWith(changes: Record<string, unknown>): unknown {
  return {
    type: "manifest",
    entries: [{ ...fileEntry("fields.txt", 3), ...changes }],
    more: false,
  };
}

// ---------------------------------------------------------------------------

Deno.test("hostile: invalid manifest paths are refused", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);

  const longAscii = ("p".repeat(200) + "/").repeat(25) + "end"; // 5028 chars
  const longBytes = ("é".repeat(100) + "/").repeat(21) + "end"; // 4224 bytes
  assert.ok(
    longBytes.length <= 4096 && encoder.encode(longBytes).length > 4096,
  );
  // [step name, path, why]: the server must answer `Invalid path P: why`.
  const cases: [string, string, string][] = [
    ["absolute", "/etc/x", "absolute"],
    ["dot-dot in the middle", "a/../../x", "has a .. component"],
    ["dot-dot alone", "..", "has a .. component"],
    ["empty", "", "empty"],
    ["dot", ".", "empty"],
    ["NUL", "a\u0000b", "contains a control character"],
    ["terminal escape", "\u001b[31mred", "contains a control character"],
    ["backslash", "a\\b", "contains a backslash"],
    ["drive letter with slash", "C:/x", "starts with a drive letter"],
    ["drive letter without slash", "c:x", "starts with a drive letter"],
    ["longer than 4096 bytes", longBytes, "longer than 4096 bytes"],
    ["255+ byte component", "a/" + "x".repeat(256), "has a component longer"],
    ["255+ byte UTF-8 component", "é".repeat(128), "has a component longer"],
    ["trailing slash", "a/", "has an empty component"],
  ];
  const badPath = (path: string, phrase: string | RegExp) => () =>
    h.rejects({
      phrase,
      absent: ["pre", "ok.txt"],
      // Valid entries come first: nothing of them may be created either.
      act: (c) =>
        c.sendJson({
          type: "manifest",
          entries: [
            folderEntry("pre"),
            fileEntry("ok.txt", 1),
            fileEntry(path, 1),
          ],
          more: false,
        }),
    });
  for (const [name, path, why] of cases) {
    await h.step(
      t,
      `path: ${name}`,
      badPath(path, `Invalid path ${quote(path)}: ${why}`),
    );
  }
  // No UTF-8 form: on disk it would become U+FFFD, so "x\ud800" and
  // "x\udbff" would name the same file and dodge the duplicate check. (The
  // log shows the lone surrogate as U+FFFD, hence the "." in the pattern.)
  await h.step(
    t,
    "path: lone surrogate",
    badPath("x\ud800", /Invalid path "x.": is not valid Unicode/),
  );
  await h.step(
    t,
    "path: longer than 4096 characters",
    badPath(longAscii, "Field path in manifest entry 2 is too long"),
  );
  await h.step(t, "path: escapes are shown escaped", () =>
    h.rejects({
      phrase: String.raw`Invalid path "\u001b[31mred": contains`,
      act: (c) =>
        c.sendJson({
          type: "manifest",
          entries: [fileEntry("\u001b[31mred", 1)],
          more: false,
        }),
    }));
  await h.step(t, "the long path error names the field", async () => {
    const mark = server.stderr.length;
    const client = await h.connect();
    await client.handshake();
    await client.sendJson({
      type: "manifest",
      entries: [fileEntry(longAscii, 1)],
      more: false,
    });
    const { messages } = await client.readToEnd();
    assert.deepEqual(messages, [{
      type: "error",
      message: "Field path in manifest entry 0 is too long",
    }]);
    await h.logFor(mark, client.port);
    await h.probe();
  });
  await h.step(t, "the longest legal names are saved", async () => {
    // 255, 254 and 252 UTF-8 bytes: legal, so they must be received, and
    // their temporary names must be legal too.
    const names = ["x".repeat(255), "é".repeat(127), "😀".repeat(63)];
    const mark = server.stderr.length;
    const client = await h.connect();
    await client.handshake();
    const decisions = await offer(client, names.map((n) => fileEntry(n, 4)));
    assert.deepEqual(
      decisions.type === "decisions" && decisions.items,
      names.map(() => ({ action: "send", offset: 0 })),
    );
    for (const [index, name] of names.entries()) {
      const data = encoder.encode(`f${index}!!`);
      await client.send({ type: "file", index, offset: 0 });
      await client.data(data);
      await client.send({ type: "end", index, sha256: sha256(data) });
      assert.deepEqual(await client.receive(), {
        type: "verified",
        index,
        sha256: sha256(data),
      });
      assert.deepEqual(await Deno.readFile(join(h.dest, name)), data);
    }
    await client.send({ type: "done" });
    assert.deepEqual(await client.readToEnd(), {
      messages: [{ type: "summary", verified: 3, failed: 0 }],
      reset: false,
    });
    assert.deepEqual(h.linesSince(mark), []);
    await h.assertClean();
  });
  await h.step(
    t,
    "a legal path longer than PATH_MAX below the destination",
    async () => {
      // 4070 bytes is legal, but below the destination it exceeds PATH_MAX:
      // the server reaches each folder from the one before by descriptor,
      // so the file is still saved, and still nowhere else.
      const long = ("d".repeat(200) + "/").repeat(20) + "x".repeat(70);
      const client = await h.connect();
      await client.handshake();
      const decisions = await offer(client, [fileEntry(long, 1)]);
      assert.deepEqual(
        decisions.type === "decisions" && decisions.items,
        [{ action: "send", offset: 0 }],
      );
      await client.send({ type: "file", index: 0, offset: 0 });
      await client.data(encoder.encode("z"));
      await client.send({
        type: "end",
        index: 0,
        sha256: sha256(encoder.encode("z")),
      });
      await client.send({ type: "done" });
      assert.deepEqual(await client.readToEnd(), {
        messages: [
          { type: "verified", index: 0, sha256: sha256(encoder.encode("z")) },
          { type: "summary", verified: 1, failed: 0 },
        ],
        reset: false,
      });
      // Read back one folder at a time, as no single path reaches it.
      const read = await new Deno.Command("sh", {
        args: [
          "-c",
          `cd "$1" && for i in $(seq 20); do cd ${
            "d".repeat(200)
          } || exit 1; done && cat ${"x".repeat(70)}`,
          "sh",
          h.dest,
        ],
      }).output();
      assert.equal(new TextDecoder().decode(read.stdout), "z");
      await Deno.remove(join(h.dest, "d".repeat(200)), { recursive: true });
      await h.assertClean();
    },
  );
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-paths.txt"),
  );
});

Deno.test("hostile: symbolic links in the destination are refused", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  // dest/link -> outside, made before the server starts.
  await Deno.symlink(join(tmp.path, "outside"), join(tmp.path, "dest", "link"));
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);
  const target = join(h.outside, "target");

  /** Offers `entries`, expects refusals, then finishes the session. */
  async function refused(
    entries: Entry[],
    reason: RegExp,
  ): Promise<void> {
    const before = await listTree(tmp.path);
    const mark = server.stderr.length;
    const client = await h.connect();
    await client.handshake();
    const decisions = await offer(client, entries);
    assert.equal(decisions.type, "decisions");
    if (decisions.type !== "decisions") return;
    assert.equal(decisions.items.length, entries.length);
    for (const decision of decisions.items) {
      assert.equal(decision.action, "refuse");
      if (decision.action === "refuse") assert.match(decision.reason, reason);
    }
    await client.send({ type: "done" });
    // Refused folders count as failed too, as the client counts them.
    assert.deepEqual(await client.readToEnd(), {
      messages: [{ type: "summary", verified: 0, failed: entries.length }],
      reset: false,
    });
    client.close();
    const lines = await h.logFor(mark, client.port, entries.length);
    assert.equal(lines.length, entries.length, JSON.stringify(lines));
    for (const [i, line] of lines.entries()) {
      assert.ok(line.includes(`failed ${entries[i].path}: refused:`), line);
      assert.match(line, reason);
    }
    assert.deepEqual(await listTree(tmp.path), before);
    await h.assertClean();
    await h.probe();
  }

  await h.step(
    t,
    "a file below a symlinked folder",
    () => refused([fileEntry("link/x.txt", 5)], /"link" is a symbolic link/),
  );
  await h.step(t, "folders through a symlinked folder", () =>
    refused(
      [folderEntry("link"), folderEntry("link/sub")],
      /symbolic link/,
    ));
  await h.step(t, "a symlink under the final name", async () => {
    await Deno.writeTextFile(target, "original");
    h.outsideHolds = ["target"];
    const mtime = (await Deno.stat(target)).mtime;
    await Deno.symlink(target, join(h.dest, "y.txt"));
    await Deno.symlink(join(h.outside, "absent"), join(h.dest, "z.txt"));
    await refused(
      [fileEntry("y.txt", 4), fileEntry("z.txt", 4)],
      /a symbolic link is in its place/,
    );
    assert.equal(await Deno.readTextFile(target), "original");
    assert.deepEqual((await Deno.stat(target)).mtime, mtime);
    assert.equal(await Deno.readLink(join(h.dest, "y.txt")), target);
  });
  await h.step(t, "sending a refused file anyway is an error", () =>
    h.rejects({
      phrase: "which is not an expected file",
      logBefore: [/failed link\/x\.txt: refused: "link" is a symbolic link/],
      act: async (c) => {
        const decisions = await offer(c, [fileEntry("link/x.txt", 4)]);
        assert.equal(
          decisions.type === "decisions" && decisions.items[0].action,
          "refuse",
        );
        // In one write: the server stops reading at the file message.
        await c.queue({ type: "file", index: 0, offset: 0 });
        await c.queueData(encoder.encode("evil"));
        await c.queue({
          type: "end",
          index: 0,
          sha256: sha256(encoder.encode("evil")),
        });
        await c.flush();
      },
    }));
  await h.step(t, "outside is still only the untouched target", async () => {
    assert.deepEqual(await listTree(h.outside), ["target"]);
    assert.equal(await Deno.readTextFile(target), "original");
  });
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-links.txt"),
  );
});

Deno.test("hostile: out-of-range entry fields are refused", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);
  const cases: [string, Record<string, unknown>, string][] = [
    ["negative size", { size: -1 }, "Field size in manifest entry 0 is -1"],
    [
      "fractional size",
      { size: 1.5 },
      "Field size in manifest entry 0 is not an integer",
    ],
    [
      "size as a string",
      { size: "12" },
      "Field size in manifest entry 0 is not an integer",
    ],
    [
      "size 2**60",
      { size: 2 ** 60 },
      `size in manifest entry 0 is ${
        2 ** 60
      }, beyond the limit of ${MAX_FILE_SIZE}`,
    ],
    ["size missing", { size: undefined }, "Missing field size"],
    [
      "negative mode",
      { mode: -1 },
      "Field mode in manifest entry 0 is -1, below 0",
    ],
    [
      "mode above 0o7777",
      { mode: 0o10000 },
      "Field mode in manifest entry 0 is 4096, beyond",
    ],
    [
      "mtime too late",
      { mtime: MAX_MTIME_MS + 1 },
      `Field mtime in manifest entry 0 is ${MAX_MTIME_MS + 1}, beyond`,
    ],
    [
      "mtime too early",
      { mtime: -MAX_MTIME_MS - 1 },
      `Field mtime in manifest entry 0 is ${-MAX_MTIME_MS - 1}, below`,
    ],
    [
      "mtime as a float",
      { mtime: 0.5 },
      "Field mtime in manifest entry 0 is not an integer",
    ],
    ["unknown kind", { kind: "symlink" }, "Unknown kind in manifest entry 0"],
    ["folder with a size", { kind: "folder" }, "has a non-zero size"],
    [
      "path not a string",
      { path: 7 },
      "Field path in manifest entry 0 is not a string",
    ],
  ];
  for (const [name, changes, phrase] of cases) {
    await h.step(t, name, () =>
      h.rejects({
        phrase,
        absent: ["fields.txt"],
        act: (c) => c.sendJson(manifestWith(changes)),
      }));
  }
  await h.step(t, "an entry that is not an object", () =>
    h.rejects({
      phrase: "manifest entry 0 is not an object",
      act: (c) => c.sendJson({ type: "manifest", entries: [[]], more: false }),
    }));
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-fields.txt"),
  );
});

Deno.test("hostile: file data that does not match the manifest", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);

  /** Offers one file of `size` and starts sending it. */
  async function start(c: HostileClient, name: string, size: number) {
    const decisions = await offer(c, [fileEntry(name, size)]);
    assert.deepEqual(decisions, {
      type: "decisions",
      start: 0,
      items: [{ action: "send", offset: 0 }],
      more: false,
    });
    await c.send({ type: "file", index: 0, offset: 0 });
  }

  await h.step(t, "a file that cannot be saved fails alone", async () => {
    // The folder is free at decision time; a file takes its place before
    // the data arrives, so the server cannot create the temporary file.
    const client = await h.connect();
    await client.handshake();
    const decisions = await offer(client, [
      fileEntry("blocked/x.txt", 3),
      fileEntry("fine.txt", 3),
    ]);
    assert.equal(decisions.type, "decisions");
    await Deno.writeTextFile(join(h.dest, "blocked"), "in the way");
    const data = encoder.encode("abc");
    for (const index of [0, 1]) {
      await client.send({ type: "file", index, offset: 0 });
      await client.data(data);
      await client.send({ type: "end", index, sha256: sha256(data) });
    }
    await client.send({ type: "done" });
    const { messages } = await client.readToEnd();
    assert.equal(messages.length, 3, JSON.stringify(messages));
    assert.equal(messages[0].type, "failed");
    assert.match(
      messages[0].type === "failed" ? messages[0].message : "",
      /^cannot save: Cannot create folder "blocked": "blocked" is not a folder on the server$/,
    );
    assert.deepEqual(messages.slice(1), [
      { type: "verified", index: 1, sha256: sha256(data) },
      { type: "summary", verified: 1, failed: 1 },
    ]);
    assert.equal(await Deno.readTextFile(join(h.dest, "fine.txt")), "abc");
    await Deno.remove(join(h.dest, "blocked"));
    await Deno.remove(join(h.dest, "fine.txt"));
    await h.assertClean();
  });
  await h.step(t, "20 bytes in one frame for a file of 10", () =>
    h.rejects({
      phrase: 'Client sent more bytes than announced for "more.bin"',
      absent: ["more.bin"],
      act: async (c) => {
        await start(c, "more.bin", 10);
        await c.data(bytes(20));
      },
    }));
  await h.step(t, "10 bytes, then 10 more for a file of 10", () =>
    h.rejects({
      phrase: 'Client sent more bytes than announced for "more2.bin"',
      absent: ["more2.bin"],
      act: async (c) => {
        await start(c, "more2.bin", 10);
        await c.data(bytes(10));
        await h.waitForPartial("more2.bin", 10);
        await c.data(bytes(10));
      },
    }));
  await h.step(t, "50 of 100 bytes, then the client hangs up", () =>
    h.rejects({
      phrase: 'Client disconnected in the middle of "short.bin"',
      reply: "none",
      absent: ["short.bin"],
      act: async (c) => {
        await start(c, "short.bin", 100);
        await c.data(bytes(50));
        await h.waitForPartial("short.bin", 50);
        c.close();
      },
    }));
  await h.step(t, "50 of 100 bytes, then an end message", () =>
    h.rejects({
      phrase: 'Client sent 50 bytes for "short2.bin", fewer than the 100',
      absent: ["short2.bin"],
      act: async (c) => {
        await start(c, "short2.bin", 100);
        await c.data(bytes(50));
        await h.waitForPartial("short2.bin", 50);
        await c.send({ type: "end", index: 0, sha256: sha256(bytes(50)) });
      },
    }));
  await h.step(t, "a wrong hash in the end message", () =>
    h.rejects({
      phrase: new RegExp(
        `Hash mismatch for "badhash.bin": received data hashes to ${
          sha256(bytes(10))
        }, client announced ${sha256(bytes(10, 0x62))}`,
      ),
      absent: ["badhash.bin"],
      act: async (c) => {
        await start(c, "badhash.bin", 10);
        await c.data(bytes(10));
        await h.waitForPartial("badhash.bin", 10);
        await c.send({
          type: "end",
          index: 0,
          sha256: sha256(bytes(10, 0x62)),
        });
      },
    }));
  await h.step(t, "an end message for a file not being sent", () =>
    h.rejects({
      phrase: "Client ended entry 0, which is not being sent",
      absent: ["notsent.bin"],
      act: async (c) => {
        await offer(c, [fileEntry("notsent.bin", 0)]);
        await c.send({ type: "end", index: 0, sha256: sha256(bytes(0)) });
      },
    }));
  await h.step(t, "done while a file is unfinished", () =>
    h.rejects({
      phrase: 'Client finished while "unfinished.bin" was unfinished',
      absent: ["unfinished.bin"],
      act: async (c) => {
        await start(c, "unfinished.bin", 10);
        await c.data(bytes(5));
        await h.waitForPartial("unfinished.bin", 5);
        await c.send({ type: "done" });
      },
    }));
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-data.txt"),
  );
});

Deno.test("hostile: broken records", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);
  const outside = (length: number) =>
    `Record of ${length} bytes from peer is outside the allowed 17 to ${MAX_RECORD_BODY}`;
  const TAMPERED =
    "Record failed authentication: the connection was tampered with or corrupted";
  const manifest = (name: string, more = false) =>
    jsonBytes({ type: "manifest", entries: [fileEntry(name, 1)], more });

  await h.step(t, "record length field 0xFFFFFFFF", () =>
    h.rejects({
      phrase: outside(0xFFFFFFFF),
      act: (c) => c.raw(rawRecord(0xFFFFFFFF)),
    }));
  await h.step(t, "record length field MAX_RECORD_BODY + 1", () =>
    h.rejects({
      phrase: outside(MAX_RECORD_BODY + 1),
      act: (c) => c.raw(rawRecord(MAX_RECORD_BODY + 1)),
    }));
  await h.step(
    t,
    "a record of exactly MAX_RECORD_BODY (a full frame) is accepted",
    async () => {
      const client = await h.connect();
      await client.handshake();
      const base = JSON.stringify({
        type: "manifest",
        entries: [],
        more: false,
        pad: "",
      });
      const payload = encoder.encode(
        base.replace(
          '"pad":""',
          `"pad":"${"x".repeat(MAX_FRAME_PAYLOAD - base.length)}"`,
        ),
      );
      assert.equal(payload.length, MAX_FRAME_PAYLOAD);
      const record = await client.seal(FrameType.Control, payload);
      assert.equal(
        new DataView(record.buffer).getUint32(0),
        MAX_RECORD_BODY,
        "the length field is the limit",
      );
      await client.raw(record);
      assert.equal((await client.expect("decisions")).items.length, 0);
      await client.send({ type: "done" });
      await client.expect("summary");
    },
  );
  await h.step(
    t,
    "record length field 16, below the shortest record",
    () =>
      h.rejects({
        phrase: outside(16),
        act: (c) => c.raw(rawRecord(16, randomBytes(16))),
      }),
  );
  await h.step(t, "record length field 0", () =>
    h.rejects({
      phrase: outside(0),
      act: (c) => c.raw(rawRecord(0)),
    }));
  await h.step(
    t,
    "an empty control frame (the shortest record)",
    () =>
      h.rejects({
        phrase: "Malformed control message from peer (not JSON)",
        act: (c) => c.frame(FrameType.Control, new Uint8Array(0)),
      }),
  );
  await h.step(
    t,
    "a truncated record header, then the client hangs up",
    () =>
      h.rejects({
        phrase: "Connection closed in the middle of a record header",
        reply: "none",
        act: async (c) => {
          await c.raw(rawRecord(64).subarray(0, 2));
          c.close();
        },
      }),
  );
  await h.step(
    t,
    "a truncated record, then the client hangs up",
    () =>
      h.rejects({
        phrase: "Connection closed in the middle of a record",
        reply: "none",
        act: async (c) => {
          await c.raw(rawRecord(101, randomBytes(10)));
          c.close();
        },
      }),
  );
  await h.step(
    t,
    "a truncated data record in the middle of a file",
    () =>
      h.rejects({
        phrase: "Connection closed in the middle of a record",
        reply: "none",
        absent: ["cut.bin"],
        act: async (c) => {
          await offer(c, [fileEntry("cut.bin", 100)]);
          await c.send({ type: "file", index: 0, offset: 0 });
          await c.data(bytes(40));
          await h.waitForPartial("cut.bin", 40);
          const record = await c.seal(FrameType.Data, bytes(60));
          await c.raw(record.subarray(0, 30));
          c.close();
        },
      }),
  );
  await h.step(t, "random bytes with a valid record length", () =>
    h.rejects({
      phrase: TAMPERED,
      act: (c) => c.raw(rawRecord(64, randomBytes(64))),
    }));
  await h.step(t, "a clear frame after the key exchange", () =>
    h.rejects({
      phrase: TAMPERED,
      absent: ["clear.txt"],
      act: (c) => c.raw(rawFrame(FrameType.Control, manifest("clear.txt"))),
    }));
  await h.step(t, "a sealed record with one bit flipped", () =>
    h.rejects({
      phrase: TAMPERED,
      absent: ["flipped.txt"],
      act: async (c) => {
        const record = await c.seal(FrameType.Control, manifest("flipped.txt"));
        record[10] ^= 0x01;
        await c.raw(record);
      },
    }));
  await h.step(t, "a sealed record grown by one byte", () =>
    h.rejects({
      phrase: TAMPERED,
      absent: ["grown.txt"],
      act: async (c) => {
        const record = await c.seal(FrameType.Control, manifest("grown.txt"));
        const body = record.subarray(4);
        await c.raw(rawRecord(body.length + 1, Uint8Array.of(...body, 0)));
      },
    }));
  await h.step(t, "a sealed record sent twice (a replay)", () =>
    h.rejects({
      phrase: TAMPERED,
      absent: ["replayed.txt"],
      act: async (c) => {
        // The first copy is a valid manifest part; the second is stale.
        const record = await c.seal(
          FrameType.Control,
          manifest("replayed.txt", true),
        );
        await c.raw(record);
        await c.raw(record);
      },
    }));
  await h.step(
    t,
    "an unknown frame type byte in a sealed record",
    () =>
      h.rejects({
        phrase: "Unknown frame type 7 from peer",
        act: (c) => c.frame(7, jsonBytes({ type: "done" })),
      }),
  );
  await h.step(t, "frame type 0 in a sealed record", () =>
    h.rejects({
      phrase: "Unknown frame type 0 from peer",
      act: (c) => c.frame(0, new Uint8Array(0)),
    }));
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-records.txt"),
  );
});

Deno.test("hostile: malformed control messages", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);
  const control = (text: string) => (c: HostileClient) =>
    c.frame(FrameType.Control, encoder.encode(text));

  await h.step(t, "not JSON", () =>
    h.rejects({
      phrase: "Malformed control message from peer (not JSON)",
      act: control('{"type": "manifest", '),
    }));
  await h.step(t, "invalid UTF-8", () =>
    h.rejects({
      phrase: "Malformed control message from peer (not JSON)",
      act: (c) =>
        c.frame(FrameType.Control, new Uint8Array([0x22, 0xff, 0xfe, 0x22])),
    }));
  await h.step(t, "a JSON array", () =>
    h.rejects({
      phrase: "Malformed control message from peer (not an object)",
      act: control('[{"type":"done"}]'),
    }));
  await h.step(t, "JSON null", () =>
    h.rejects({
      phrase: "Malformed control message from peer (not an object)",
      act: control("null"),
    }));
  await h.step(t, "an object without type", () =>
    h.rejects({
      phrase: "Missing field type in control message",
      act: control('{"entries":[],"more":false}'),
    }));
  await h.step(t, "a type that is not a string", () =>
    h.rejects({
      phrase: "Control message type is not a string",
      act: control('{"type":1}'),
    }));
  await h.step(t, "an unknown type", () =>
    h.rejects({
      phrase: 'Unknown control message type "\\u001b[2Jhack" from client',
      act: (c) => c.sendJson({ type: "\u001b[2Jhack" }),
    }));
  await h.step(t, "a data frame before the manifest", () =>
    h.rejects({
      phrase: "Client sent file data outside a file",
      act: (c) => c.data(bytes(16)),
    }));
  await h.step(t, "done before the manifest", () =>
    h.rejects({
      phrase: "Client sent a done message before its manifest",
      act: (c) => c.send({ type: "done" }),
    }));
  await h.step(t, "a second manifest", () =>
    h.rejects({
      phrase: "Client sent a second manifest",
      absent: ["first.txt", "second.txt"],
      act: async (c) => {
        await offer(c, [fileEntry("first.txt", 1)]);
        await c.send({
          type: "manifest",
          entries: [fileEntry("second.txt", 1)],
          more: false,
        });
      },
    }));
  await h.step(t, "an empty manifest part with more to come", () =>
    h.rejects({
      phrase: "Manifest part with no entries and more to come",
      act: (c) => c.send({ type: "manifest", entries: [], more: true }),
    }));
  await h.step(
    t,
    "a proof for a file whose decision asked for none",
    () =>
      h.rejects({
        phrase: "Client sent proofs out of order",
        absent: ["skipped.txt"],
        act: async (c) => {
          await offer(c, [fileEntry("skipped.txt", 1)]);
          await c.send({
            type: "proofs",
            items: [{ index: 0, sha256: "0".repeat(64) }],
            more: false,
          });
        },
      }),
  );
  await h.step(t, "a data frame between files", () =>
    h.rejects({
      phrase: "Client sent file data outside a file",
      absent: ["between.txt"],
      act: async (c) => {
        await offer(c, [fileEntry("between.txt", 1)]);
        await c.data(bytes(1));
      },
    }));
  await h.step(t, "a file message for an index out of range", () =>
    h.rejects({
      phrase: "Client sent a file for entry 5, which is not an expected file",
      act: async (c) => {
        await offer(c, [fileEntry("range.txt", 1)]);
        await c.send({ type: "file", index: 5, offset: 0 });
      },
    }));
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-messages.txt"),
  );
});

Deno.test("hostile: inconsistent manifests", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);

  await h.step(t, "duplicate paths", () =>
    h.rejects({
      phrase: 'Manifest lists "dup.txt" more than once',
      absent: ["dup.txt"],
      act: (c) =>
        c.send({
          type: "manifest",
          entries: [fileEntry("dup.txt", 1), fileEntry("dup.txt", 2)],
          more: false,
        }),
    }));
  await h.step(t, "duplicate paths across manifest frames", () =>
    h.rejects({
      phrase: 'Manifest lists "dup2" more than once',
      absent: ["dup2"],
      act: async (c) => {
        await c.queue({
          type: "manifest",
          entries: [folderEntry("dup2")],
          more: true,
        });
        await c.send({
          type: "manifest",
          entries: [fileEntry("dup2", 1)],
          more: false,
        });
      },
    }));
  await h.step(t, "a file below a file", () =>
    h.rejects({
      phrase: 'Manifest puts "a/b" below a file',
      absent: ["a"],
      act: (c) =>
        c.send({
          type: "manifest",
          entries: [fileEntry("a", 1), fileEntry("a/b", 1)],
          more: false,
        }),
    }));
  await h.step(t, "a folder deep below a file", () =>
    h.rejects({
      phrase: 'Manifest puts "f/g/h" below a file',
      absent: ["f"],
      act: (c) =>
        c.send({
          type: "manifest",
          entries: [folderEntry("f/g/h"), fileEntry("f", 1)],
          more: false,
        }),
    }));
  await h.step(
    t,
    `more than MAX_ENTRIES (${MAX_ENTRIES}) entries`,
    () =>
      h.rejects({
        phrase: `Manifest has more than ${MAX_ENTRIES} entries`,
        act: async (c) => {
          // Every frame says more:true: the server must stop at the frame
          // that crosses the limit, not wait for the end of the manifest.
          const perFrame = 15_000;
          let sent = 0;
          while (sent <= MAX_ENTRIES) {
            const count = Math.min(perFrame, MAX_ENTRIES + 1 - sent);
            const entries: Entry[] = [];
            for (let i = 0; i < count; i++) {
              entries.push(folderEntry(`e${sent + i}`));
            }
            await c.queue({ type: "manifest", entries, more: true });
            sent += count;
          }
          await c.flush();
        },
      }),
    120_000,
  );
  await h.step(t, "the server's memory stayed bounded", async () => {
    const status = await Deno.readTextFile(`/proc/${server.child.pid}/status`);
    const peakKiB = Number(status.match(/VmHWM:\s+(\d+) kB/)?.[1]);
    console.log(`server peak RSS ${Math.round(peakKiB / 1024)} MiB`);
    assert.ok(peakKiB < 1024 * 1024, `peak RSS ${peakKiB} KiB under 1 GiB`);
  });
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-manifests.txt"),
  );
});

Deno.test("hostile: bad hellos", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);
  const hello = (bytes: Uint8Array, phrase: string) => () =>
    h.rejects({
      phrase,
      raw: true,
      reply: "hello-then-close",
      act: (c) => c.raw(bytes),
    });

  await h.step(
    t,
    "protocol version 99",
    hello(
      helloBytes({ version: 99 }),
      `Peer speaks protocol version 99, this program speaks version ${PROTOCOL_VERSION}`,
    ),
  );
  await h.step(
    t,
    "an HTTP request instead of a hello",
    hello(
      encoder.encode("GET / HTTP/1.1\r\n\r\n"),
      "Peer does not speak this file-transfer protocol (wrong magic bytes)",
    ),
  );
  await h.step(
    t,
    "the receiver role instead of the sender role",
    hello(
      helloBytes({ role: Role.Receiver }),
      "Peer is a server, expected the other side",
    ),
  );
  await h.step(
    t,
    "an unknown role",
    hello(helloBytes({ role: 9 }), "Peer is an unknown role (9)"),
  );
  await h.step(
    t,
    "unknown hello flags",
    hello(helloBytes({ flags: 1 }), "Unknown hello flags 1 from peer"),
  );
  await h.step(t, "half a hello, then the end of the stream", () =>
    h.rejects({
      phrase: "Connection closed in the middle of the hello",
      raw: true,
      reply: "hello-then-close",
      act: async (c) => {
        await c.raw(helloBytes().subarray(0, 4));
        await c.closeWrite();
      },
    }));
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-hellos.txt"),
  );
});

Deno.test("hostile: broken key exchanges", async (t) => {
  // Its own server: the attempts that fail the key exchange make the guess
  // limiter hold back the next attempt from 127.0.0.1 (0.5 s after one
  // failure, doubling with each). Every case ends with a probe, which waits
  // for its turn, so the next case is not held back; a success erases no
  // failure, so the four failing cases cost 0.5 + 1 + 2 + 4 s. The
  // cases that fail before the key share, or after a complete exchange, do
  // not count and come first.
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);
  const manifest = (name: string) =>
    jsonBytes({ type: "manifest", entries: [fileEntry(name, 1)], more: false });
  // An uncompressed point (1, 1): well formed, but not on P-256.
  const offCurve = new Uint8Array(65);
  offCurve[0] = 0x04;
  offCurve[32] = 1;
  offCurve[64] = 1;

  await h.step(
    t,
    "the end of the stream instead of a key share",
    () =>
      h.rejects({
        phrase:
          "Connection closed during the handshake, before the client's key share",
        raw: true,
        reply: "close",
        act: async (c) => {
          await c.hello();
          await c.closeWrite();
        },
      }),
  );
  await h.step(t, "a control frame instead of the key share", () =>
    h.rejects({
      // Longer than a share, so refused from its header.
      phrase: "Frame of 109 bytes from peer where at most 65 fit",
      raw: true,
      reply: "close",
      absent: ["early.txt"],
      act: async (c) => {
        await c.hello();
        await c.frame(FrameType.Control, manifest("early.txt"));
      },
    }));
  for (const length of [0, 64, 66]) {
    await h.step(t, `a key share of ${length} bytes`, () =>
      h.rejects({
        // A longer frame is refused from its header, before it is read.
        phrase: length > 65
          ? `Frame of ${length} bytes from peer where at most 65 fit`
          : `Handshake message the client's key share has ${length} bytes, expected 65`,
        raw: true,
        reply: "close",
        act: async (c) => {
          await c.hello();
          await c.frame(FrameType.Handshake, bytes(length, 0x04));
        },
      }));
  }
  await h.step(t, "a handshake frame after the key exchange", () =>
    h.rejects({
      phrase: "Peer sent a handshake frame after the key exchange",
      act: (c) => c.frame(FrameType.Handshake, bytes(32)),
    }));

  // Refused before the server answers, so it could not test a guess, but
  // it cost the server curve work: it counts as a failed key exchange.
  await h.step(
    t,
    "a key share that is not a point on the curve",
    () =>
      h.rejects({
        phrase:
          "Invalid key share from client: Invalid PAKE share: not a point on P-256",
        raw: true,
        reply: "close",
        failsKeyExchange: true,
        act: async (c) => {
          await c.hello();
          await c.frame(FrameType.Handshake, offCurve);
        },
      }),
  );
  await h.step(
    t,
    "a control frame instead of the key confirmation",
    () =>
      h.rejects({
        // From here on each case got the server's answer, and so fails the
        // key exchange too. A control frame is longer than a confirmation.
        phrase: "where at most 32 fit",
        raw: true,
        reply: "close",
        failsKeyExchange: true,
        absent: ["unconfirmed.txt"],
        act: async (c) => {
          await c.hello();
          await c.exchangeShares();
          await c.frame(FrameType.Control, manifest("unconfirmed.txt"));
        },
      }),
  );
  await h.step(
    t,
    "the end of the stream before the key confirmation",
    () =>
      h.rejects({
        phrase:
          "Client left during key confirmation: it probably has the wrong code",
        raw: true,
        reply: "close",
        failsKeyExchange: true,
        act: async (c) => {
          await c.hello();
          await c.exchangeShares();
          await c.closeWrite();
        },
      }),
  );
  await h.step(t, "a wrong key confirmation", () =>
    h.rejects({
      phrase: "Client's key confirmation failed: wrong code",
      raw: true,
      reply: "close",
      failsKeyExchange: true,
      act: async (c) => {
        await c.hello();
        const keys = await c.exchangeShares();
        const wrong = keys.confirmation.slice();
        wrong[0] ^= 0x01;
        await c.frame(FrameType.Handshake, wrong);
      },
    }));
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-key-exchanges.txt"),
  );
});

Deno.test("hostile: sources the client cannot send", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);

  /** Runs the client on `source`; it must fail with one line naming it. */
  async function cannotSend(source: string, why: string): Promise<void> {
    const before = await listTree(tmp.path);
    const stdoutMark = server.stdout.length;
    const stderrMark = server.stderr.length;
    const result = await runClient([h.address, source]);
    assert.notEqual(result.code, 0);
    assert.equal(result.stdout, "");
    assert.deepEqual(result.stderr.trimEnd().split("\n"), [
      `client: Cannot send ${source}: ${why}`,
    ]);
    // The client gave up before connecting: the server saw nothing.
    assert.equal(server.stdout.slice(stdoutMark), "");
    assert.equal(server.stderr.slice(stderrMark), "");
    assert.deepEqual(await listTree(tmp.path), before);
    await h.assertClean();
    await h.probe();
  }

  await h.step(
    t,
    "a source that does not exist",
    () => cannotSend(join(h.src, "no-such-file.txt"), "no such file or folder"),
  );
  await h.step(t, "a FIFO as source", async () => {
    const fifo = join(h.src, "pipe");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.equal(made.code, 0);
    await cannotSend(fifo, "not a file or folder");
  });
  await h.step(t, "a FIFO inside a folder is skipped", async () => {
    const folder = join(h.src, "withfifo");
    await Deno.mkdir(folder);
    await Deno.writeTextFile(join(folder, "ok.txt"), "ok\n");
    const made = await new Deno.Command("mkfifo", {
      args: [join(folder, "pipe")],
    }).output();
    assert.equal(made.code, 0);
    const result = await runClient([h.address, folder]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stderr.trimEnd().split("\n"), [
      `warning: Skipping ${join(folder, "pipe")}: not a regular file or folder`,
    ]);
    assert.deepEqual(await listTree(join(h.dest, "withfifo")), ["ok.txt"]);
    await h.assertClean();
  });
  await h.step(t, "an unreadable file", async () => {
    const locked = join(h.src, "locked.txt");
    await Deno.writeTextFile(locked, "secret\n");
    await Deno.chmod(locked, 0o000);
    if (Deno.uid() === 0) {
      console.log(
        "skipped: running as root, which can read a file with mode 000",
      );
      return;
    }
    await cannotSend(locked, "permission denied");
  });
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-sources.txt"),
  );
});

Deno.test("hostile: waves of 15 garbage connections during a normal transfer", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);

  await h.step(t, "the normal transfer completes", async () => {
    const big = new Uint8Array(48 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 65536) {
      crypto.getRandomValues(big.subarray(i, i + 65536));
    }
    await Deno.writeFile(join(h.src, "big.bin"), big);
    const stdoutMark = server.stdout.length;
    const stderrMark = server.stderr.length;
    let clientDone = false;
    // Held half-way until the first wave is over, however fast it goes.
    await using proxy = new FaultProxy(server.port, () => ({ kind: "none" }));
    proxy.pauseAfter(24 * 1024 * 1024);
    const normal = runClient([
      `127.0.0.1:${proxy.port}`,
      join(h.src, "big.bin"),
    ]).finally(() => (clientDone = true));
    // Wait until the normal client has connected, then attack.
    const deadline = Date.now() + 20_000;
    let peer: string | undefined;
    while (peer === undefined && Date.now() < deadline && !clientDone) {
      peer = server.stdout.slice(stdoutMark).match(
        /\[(127\.0\.0\.1:\d+)\] connected/,
      )?.[1];
      await sleep(5);
    }
    assert.ok(peer !== undefined, "the normal client connected");
    await waitForPause(proxy);
    assert.ok(
      !server.stdout.includes(`[${peer}] done`),
      "the attack starts while the normal session runs",
    );

    const ports: number[] = [];
    /** What the server must log for each garbage connection, by port. */
    const expected: [number, string][] = [];
    // Three kinds of garbage: instead of the hello; after the hello, where
    // the key share belongs (it fails before any share, so it does not
    // count as a failed key exchange); and as a record after a complete
    // key exchange. None of them fails a key exchange, so the guess limiter
    // never holds anyone back, the normal client included.
    const attack = async (i: number): Promise<void> => {
      const client = await h.connect();
      ports.push(client.port);
      const garbage = new Uint8Array(256);
      crypto.getRandomValues(garbage);
      // Not "D", and as a frame or record length far too big.
      garbage[0] = 0xff;
      const length = new DataView(garbage.buffer).getUint32(0);
      if (i % 3 === 0) {
        expected.push([client.port, "(wrong magic bytes)"]);
        await client.raw(garbage);
        assert.deepEqual(await client.readHello(), SERVER_HELLO);
        assert.ok(await client.readsEof());
      } else if (i % 3 === 1) {
        expected.push([client.port, `Frame of ${length - 1} bytes from peer`]);
        await client.hello();
        await client.raw(garbage);
        assert.ok(await client.readsEof());
      } else {
        const phrase =
          `Record of ${length} bytes from peer is outside the allowed 17 to ${MAX_RECORD_BODY}`;
        expected.push([client.port, phrase]);
        await client.handshake();
        await client.raw(garbage);
        const { messages } = await client.readToEnd();
        assert.equal(messages.length, 1, JSON.stringify(messages));
        assert.equal(messages[0].type, "error");
        contains(
          (messages[0] as { message: string }).message,
          phrase,
          "error message",
        );
      }
      client.close();
    };
    // 15 at a time (and the normal client, maybe still in its key exchange)
    // and 45 in all stay within what the server takes from
    // one address (lib/connection_limiter.ts): 16 unauthenticated
    // connections at once, and 64 new ones in a burst.
    let waves = 0;
    do {
      await Promise.all(Array.from({ length: 15 }, (_, i) => attack(i)));
      waves++;
      proxy.resume();
    } while (!clientDone && waves < 3);

    const result = await normal;
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /1 of 1 files sent and verified/);
    const received = await Deno.readFile(join(h.dest, "big.bin"));
    assert.equal(sha256(received), sha256(big));
    console.log(`${waves} waves of 15 garbage connections`);

    // Every garbage connection got exactly one log line, nothing else did.
    const deadline2 = Date.now() + 10_000;
    while (
      h.linesSince(stderrMark).length < ports.length &&
      Date.now() < deadline2
    ) await sleep(10);
    const lines = h.linesSince(stderrMark);
    assert.equal(lines.length, ports.length, JSON.stringify(lines));
    // The kernel may hand a closed connection's port to a later one, so a
    // port seen twice has two lines.
    for (const port of new Set(ports)) {
      assert.equal(
        lines.filter((line) => line.startsWith(`[127.0.0.1:${port}] error: `))
          .length,
        ports.filter((other) => other === port).length,
        `one line per connection from port ${port}`,
      );
    }
    for (const [port, phrase] of expected) {
      assert.ok(
        lines.some((line) =>
          line.startsWith(`[127.0.0.1:${port}] error: `) &&
          line.includes(phrase)
        ),
        `port ${port} logged ${phrase}`,
      );
    }
    await h.assertClean();
    await h.probe();
  }, 120_000);
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-garbage.txt"),
  );
});
