/**
 * Pipes in and out: standard input sent as a file, and a server that
 * writes the one file it receives to standard output; and the commands the
 * programs show for each other.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { commandFor, withCommands } from "../lib/cli/cli.ts";
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

Deno.test("client HOST - --name NAME sends standard input as a file", async () => {
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path, "--once"]);
  const data = crypto.getRandomValues(new Uint8Array(65536)).slice();
  const input = new Uint8Array(3 * 1024 * 1024 + 7);
  for (let at = 0; at < input.length; at += data.length) {
    input.set(data.subarray(0, Math.min(data.length, input.length - at)), at);
  }
  const result = await runClient(
    [`127.0.0.1:${server.port}`, "-", "--name", "piped.bin"],
    { stdin: input },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /verified {2}piped\.bin {2}3\.0 MiB/);
  assert.equal((await server.exited()).code, 0);
  assert.deepEqual(await listTree(dest.path), ["piped.bin"]);
  assert.deepEqual(await Deno.readFile(join(dest.path, "piped.bin")), input);
  // The mode of any new file here, not that of a private temporary one.
  const usual = join(dest.path, "usual");
  await Deno.writeFile(usual, input.subarray(0, 1));
  assert.equal(
    (await Deno.stat(join(dest.path, "piped.bin"))).mode! & 0o777,
    (await Deno.stat(usual)).mode! & 0o777,
  );
});

/** Starts `server.ts --once --stdout` and collects its raw standard output. */
async function stdoutServer(): Promise<{
  port: number;
  finished: Promise<{ code: number; stdout: Uint8Array; stderr: string }>;
}> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "server.ts"),
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--once",
      "--stdout",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { FT_CODE: TEST_CODE },
  }).spawn();
  const stdout = new Response(child.stdout).bytes();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  let port = 0;
  while (port === 0) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Server exited early: ${stderr}`);
    stderr += value;
    port = Number(stderr.match(/Listening on [^ ]+:(\d+)/)?.[1] ?? 0);
  }
  const finished = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    return { code: (await child.status).code, stdout: await stdout, stderr };
  })();
  return { port, finished };
}

Deno.test("server --once --stdout writes the one file to stdout, the rest to stderr", async () => {
  await using source = await tempDir();
  const file = join(source.path, "archive.tar");
  const bytes = await randomFile(file, 5 * 1024 * 1024 + 3);
  const server = await stdoutServer();
  const result = await runClient([`127.0.0.1:${server.port}`, file]);
  assert.equal(result.code, 0, result.stderr);
  const finished = await server.finished;
  assert.equal(finished.code, 0, finished.stderr);
  assert.deepEqual(finished.stdout, bytes);
  assert.match(finished.stderr, /received archive\.tar \(5\.0 MiB/);
});

Deno.test("server --once --stdout refuses a folder with a clear message", async () => {
  await using source = await tempDir();
  await Deno.mkdir(join(source.path, "docs"));
  await Deno.writeTextFile(join(source.path, "docs", "a.txt"), "a");
  const server = await stdoutServer();
  const result = await runClient([
    `127.0.0.1:${server.port}`,
    join(source.path, "docs"),
  ]);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /one single file to its standard output \(--stdout\), not 2 files and folders/,
  );
  const finished = await server.finished;
  assert.equal(finished.code, 1);
  assert.equal(finished.stdout.length, 0);
});

Deno.test("under deno the commands shown are deno run commands", () => {
  assert.equal(commandFor("client"), "deno run -A client.ts");
  assert.equal(
    withCommands("a: deno run -A server.ts --once\nb: deno run -A client.ts x"),
    "a: deno run -A server.ts --once\nb: deno run -A client.ts x",
  );
});
