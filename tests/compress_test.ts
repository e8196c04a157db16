/**
 * Compression end to end, with real processes, sockets and files:
 * compressible, incompressible and mixed files arrive byte for byte with
 * `--compress auto`, `on` and `off`, sent (client.ts) and shared
 * (server.ts --share); a transfer cut in the middle of a compressed file
 * resumes; and over a shaped link between network namespaces, `auto`
 * compresses what shrinks and sends as it is what does not.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FaultProxy } from "./fault_proxy.ts";
import {
  finish,
  listTree,
  ROOT,
  runClient,
  ServerProcess,
  stagedFiles,
  startServer,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";
import { Lab, netnsUnavailable } from "./netns.ts";

const MiB = 1024 * 1024;

/** `size` bytes of log lines, different ones, that zstd shrinks well. */
function logText(size: number, seed = 1): Uint8Array {
  const encoder = new TextEncoder();
  const bytes = new Uint8Array(size);
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) >>> 0) % 1000;
  let at = 0;
  let ms = Date.UTC(2026, 10, 21);
  while (at < size) {
    ms += next();
    const line = encoder.encode(
      `${new Date(ms).toISOString()} 10.0.${
        next() % 8
      }.${next()} GET /item/${next()} ${next() < 900 ? 200 : 404} ${
        next() * 7
      } bytes in ${next()} ms\n`,
    );
    bytes.set(line.subarray(0, size - at), at);
    at += line.length;
  }
  return bytes;
}

/** `size` random bytes: nothing to compress. */
function noise(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(at + 65536, size)));
  }
  return bytes;
}

/** Text and noise in turns of `piece` bytes. */
function mixed(size: number, piece: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let at = 0, turn = 0; at < size; at += piece, turn++) {
    const length = Math.min(piece, size - at);
    bytes.set(turn % 2 === 0 ? logText(length, at) : noise(length), at);
  }
  return bytes;
}

/** The three kinds of file every mode is tried with. */
const FILES: Record<string, Uint8Array> = {
  "logs.txt": logText(5 * MiB + 12345),
  "photo.jpg": noise(3 * MiB + 777),
  "mixed.bin": mixed(6 * MiB, 768 * 1024),
  "small.txt": logText(3000),
};

/** Bytes of FILES that compress: the logs and half of the mixed file. */
const SHRINKABLE = FILES["logs.txt"].length + FILES["mixed.bin"].length / 2;

async function writeFiles(folder: string): Promise<void> {
  await Deno.mkdir(folder, { recursive: true });
  for (const [name, bytes] of Object.entries(FILES)) {
    await Deno.writeFile(join(folder, name), bytes);
  }
}

async function assertArrived(folder: string): Promise<void> {
  assert.deepEqual(
    await listTree(folder),
    Object.keys(FILES).map((name) => `files/${name}`).concat("files/")
      .sort(),
  );
  for (const [name, bytes] of Object.entries(FILES)) {
    assert.deepEqual(await Deno.readFile(join(folder, "files", name)), bytes);
  }
  assert.deepEqual(await stagedFiles(folder), []);
}

/** The `done` event among the JSON lines of `stdout`. */
function doneEvent(stdout: string): Record<string, number | boolean> {
  const done = stdout.split("\n").filter((line) => line !== "")
    .map((line) => JSON.parse(line))
    .filter((event) => event.type === "done");
  assert.equal(done.length, 1, stdout);
  return done[0];
}

/** What each mode must show in wire bytes, for the files of FILES. */
function assertWire(mode: string, done: Record<string, number | boolean>) {
  const total = Object.values(FILES).reduce((sum, b) => sum + b.length, 0);
  assert.equal(done.bytes, total);
  const wire = done.wireBytes as number;
  if (mode === "off") assert.equal(wire, total);
  // Every record of 4 KiB or more goes compressed when that shrinks it:
  // the text goes to a small part of itself, the noise as it is.
  if (mode === "on") {
    assert.ok(wire < total - SHRINKABLE * 0.7, `${wire} of ${total}`);
    assert.ok(wire > total - SHRINKABLE, `${wire} of ${total}`);
  }
  if (mode === "auto") assert.ok(wire <= total);
}

for (const mode of ["auto", "on", "off"]) {
  Deno.test(`--compress ${mode}: compressible, incompressible and mixed files arrive byte for byte, sent and shared`, async () => {
    await using source = await tempDir();
    await writeFiles(join(source.path, "files"));
    await using up = await tempDir();
    const server = await startServer(["--once", "--json", "--dir", up.path]);
    const sent = await runClient([
      "--json",
      "--compress",
      mode,
      `127.0.0.1:${server.port}`,
      join(source.path, "files"),
    ]);
    assert.equal(sent.code, 0, sent.stderr);
    assertWire(mode, doneEvent(sent.stdout));
    const received = await server.exited();
    assert.equal(received.code, 0, received.stderr);
    // The receiver counts what the sender sent.
    assert.equal(
      doneEvent(received.stdout).wireBytes,
      doneEvent(sent.stdout).wireBytes,
    );
    await assertArrived(up.path);

    await using down = await tempDir();
    const sharing = await startServer([
      "--json",
      "--share",
      "--compress",
      mode,
      join(source.path, "files"),
    ]);
    const got = await runClient([
      "--json",
      "--get",
      `127.0.0.1:${sharing.port}`,
      "--dir",
      down.path,
    ]);
    assert.equal(got.code, 0, got.stderr);
    assertWire(mode, doneEvent(got.stdout));
    const shared = await sharing.exited();
    assert.equal(shared.code, 0, shared.stderr);
    assert.equal(
      doneEvent(shared.stdout).wireBytes,
      doneEvent(got.stdout).wireBytes,
    );
    await assertArrived(down.path);
  });
}

Deno.test("a transfer cut in the middle of a compressed file resumes, both ways", async () => {
  await using source = await tempDir();
  const data = logText(40 * MiB, 7);
  await Deno.writeFile(join(source.path, "big.log"), data);
  // About 5 MiB on the wire in all: the cut comes after 2 MiB, some
  // 15 MiB into the file.
  const cut = (kind: "cut" | "cut-down") => (index: number) =>
    index === 0 ? { kind, afterBytes: 2 * MiB } : { kind: "none" as const };

  await using up = await tempDir();
  await using server = await startServer(["--dir", up.path]);
  await using proxy = new FaultProxy(server.port, cut("cut"));
  const sent = await runClient([
    "--compress",
    "on",
    `127.0.0.1:${proxy.port}`,
    join(source.path, "big.log"),
  ]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stderr, /connection lost: .*retrying in/);
  assert.match(sent.stdout, /resuming {2}big\.log {2}from [\d.]+ MiB/);
  assert.match(sent.stdout, / on the wire\)/);
  assert.deepEqual(await Deno.readFile(join(up.path, "big.log")), data);

  await using down = await tempDir();
  await using sharing = await startServer([
    "--share",
    "--keep-sharing",
    "--compress",
    "on",
    join(source.path, "big.log"),
  ]);
  await using downProxy = new FaultProxy(sharing.port, cut("cut-down"));
  const got = await runClient([
    "--get",
    `127.0.0.1:${downProxy.port}`,
    "--dir",
    down.path,
  ]);
  assert.equal(got.code, 0, got.stderr);
  assert.match(got.stdout, /resuming {2}big\.log {2}from [\d.]+ MiB/);
  assert.deepEqual(await Deno.readFile(join(down.path, "big.log")), data);
  assert.deepEqual(await stagedFiles(down.path), []);
});

const noNetns = await netnsUnavailable();

Deno.test({
  name:
    "over a 100 Mbit/s link, auto compresses what shrinks and sends noise as it is",
  ignore: noNetns !== null,
  async fn() {
    await using source = await tempDir();
    const logs = logText(48 * MiB, 3);
    const random = noise(24 * MiB);
    await Deno.writeFile(join(source.path, "logs.txt"), logs);
    await Deno.writeFile(join(source.path, "noise.bin"), random);
    await using dest = await tempDir();
    const lab = new Lab();
    try {
      const rx = await lab.add("rx", { ipv6: false });
      const tx = await lab.add("tx", { ipv6: false });
      await lab.veth(rx, "ftr", tx, "ftt");
      await lab.address(rx, "ftr", "10.79.0.1/24");
      await lab.address(tx, "ftt", "10.79.0.2/24");
      await lab.up(rx, "ftr");
      await lab.up(tx, "ftt");
      await lab.ready(rx, "ftr");
      await lab.ready(tx, "ftt");
      const shaped = await new Deno.Command("ip", {
        args: [
          ..."netns exec".split(" "),
          tx,
          ..."tc qdisc add dev ftt root tbf rate 100mbit burst 64kb latency 50ms"
            .split(" "),
        ],
      }).output();
      assert.ok(shaped.success, new TextDecoder().decode(shaped.stderr));
      const start = (ns: string, program: string, args: string[]) =>
        new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            ns,
            Deno.execPath(),
            "run",
            "-A",
            join(ROOT, program),
            ...args,
          ],
          env: { FT_CODE: TEST_CODE },
          stdout: "piped",
          stderr: "piped",
        }).spawn();
      const results = [];
      for (const name of ["logs.txt", "noise.bin"]) {
        await using server = new ServerProcess(
          start(rx, "server.ts", [
            "--host",
            "10.79.0.1",
            "--port",
            "0",
            "--once",
            "--dir",
            dest.path,
          ]),
        );
        const port = await server.listening();
        const client = await finish(
          start(tx, "client.ts", [
            "--json",
            `10.79.0.1:${port}`,
            join(source.path, name),
          ]),
        );
        assert.equal(client.code, 0, client.stderr);
        assert.equal((await server.exited()).code, 0);
        results.push(doneEvent(client.stdout));
      }
      const [text, bin] = results;
      assert.equal(text.bytes, logs.length);
      // Over 100 Mbit/s, nearly all of the text goes compressed.
      assert.ok(
        (text.wireBytes as number) < logs.length / 2,
        `${text.wireBytes} of ${logs.length} on the wire`,
      );
      assert.equal(bin.bytes, random.length);
      assert.equal(bin.wireBytes, random.length);
      assert.deepEqual(await Deno.readFile(join(dest.path, "logs.txt")), logs);
      assert.deepEqual(
        await Deno.readFile(join(dest.path, "noise.bin")),
        random,
      );
    } finally {
      await lab.remove();
    }
  },
});
