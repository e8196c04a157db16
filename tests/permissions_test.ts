/**
 * The permission flags the executables are compiled with, tried on
 * `server.ts` and `client.ts` under `deno run`: every test here runs both
 * with exactly those flags and nothing more, so it fails as soon as the
 * code needs a permission the executables would not have.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CLIENT_PERMISSIONS,
  SERVER_PERMISSIONS,
} from "../scripts/permissions.ts";
import {
  type Finished,
  ROOT,
  runProgram,
  ServerProcess,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";
import { freeUdpPort } from "./udp_port.ts";

/** A code of the generated form, which has a number to be found by. */
const DISCOVERABLE_CODE = "4071-apple-river-stone";

const CERT = join(ROOT, "tests/fixtures/test_cert.pem");
const KEY = join(ROOT, "tests/fixtures/test_key.pem");

/**
 * Starts `server.ts` with {@link SERVER_PERMISSIONS} only, and waits until
 * it listens.
 */
async function startServer(
  args: string[],
  env: Record<string, string>,
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...SERVER_PERMISSIONS, "server.ts", "--port", "0", ...args],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const server = new ServerProcess(child);
  await server.listening();
  return server;
}

/**
 * Runs `client.ts` with {@link CLIENT_PERMISSIONS} only, with `input` on
 * its standard input when given.
 */
function runClient(
  args: string[],
  env: Record<string, string>,
  input?: Uint8Array,
): Promise<Finished> {
  return runProgram(
    Deno.execPath(),
    ["run", ...CLIENT_PERMISSIONS, "client.ts", ...args],
    { env, stdin: input },
  );
}

/**
 * Checks that both sides succeeded and that `received` holds exactly the
 * bytes of main.txt.
 */
async function assertDelivered(
  client: Finished,
  server: ServerProcess,
  received: string,
): Promise<void> {
  assert.equal(client.code, 0, `client failed:\n${client.stderr}`);
  const finished = await server.exited();
  assert.equal(finished.code, 0, `server failed:\n${finished.stderr}`);
  assert.deepEqual(
    await Deno.readFile(received),
    await Deno.readFile(join(ROOT, "main.txt")),
  );
}

Deno.test("the permission flags carry main.txt end to end, with the code from FT_CODE", async () => {
  await using dest = await tempDir();
  // A folder that does not exist yet, so that the server has to make it.
  const folder = join(dest.path, "received");
  // Listening on every interface makes the server list its addresses,
  // which is what needs --allow-sys=networkInterfaces.
  await using server = await startServer(
    ["--host", "0.0.0.0", "--dir", folder, "--once"],
    { FT_CODE: TEST_CODE },
  );
  const client = await runClient([`127.0.0.1:${server.port}`, "main.txt"], {
    FT_CODE: TEST_CODE,
  });
  await assertDelivered(client, server, join(folder, "main.txt"));
});

Deno.test("the permission flags are enough for TLS and --code-file", async () => {
  await using dest = await tempDir();
  const codeFile = join(dest.path, "code.txt");
  await Deno.writeTextFile(codeFile, `${TEST_CODE}\n`);
  const folder = join(dest.path, "received");
  await using server = await startServer([
    "--host",
    "127.0.0.1",
    "--dir",
    folder,
    "--once",
    "--cert",
    CERT,
    "--key",
    KEY,
    "--code-file",
    codeFile,
  ], {});
  const client = await runClient([
    "--tls",
    "--ca",
    CERT,
    "--code-file",
    codeFile,
    `localhost:${server.port}`,
    "main.txt",
  ], {});
  await assertDelivered(client, server, join(folder, "main.txt"));
});

Deno.test("the client's permission flags let it send standard input", async () => {
  await using dest = await tempDir();
  const folder = join(dest.path, "received");
  await using server = await startServer(
    ["--host", "127.0.0.1", "--dir", folder, "--once"],
    { FT_CODE: TEST_CODE },
  );
  const client = await runClient(
    [`127.0.0.1:${server.port}`, "-", "--name", "piped.txt"],
    { FT_CODE: TEST_CODE },
    await Deno.readFile(join(ROOT, "main.txt")),
  );
  await assertDelivered(client, server, join(folder, "piped.txt"));
});

Deno.test("the client's permission flags let it read NO_COLOR", async () => {
  // The client reads NO_COLOR for its progress line, which only shows on a
  // terminal, so this runs the same read in a small program instead. If
  // Deno ever asks a permission for it, NO_COLOR has to be listed.
  await using dir = await tempDir();
  const probe = join(dir.path, "probe.ts");
  await Deno.writeTextFile(
    probe,
    'console.log(JSON.stringify(Deno.env.get("NO_COLOR")));\n',
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...CLIENT_PERMISSIONS, probe],
    cwd: dir.path,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  assert.equal(new TextDecoder().decode(output.stdout).trim(), '"1"');
});

Deno.test("the client's permission flags let it find a sharing server by its code and get its files", async () => {
  await using dest = await tempDir();
  const udpPort = String(await freeUdpPort());
  const env = { FT_CODE: DISCOVERABLE_CODE };
  await using server = await startServer(
    ["--share", "main.txt", "--discovery-port", udpPort],
    env,
  );
  await server.waitFor(/of this network/);
  const client = await runClient(
    ["--get", "--dir", dest.path, "--discovery-port", udpPort],
    env,
  );
  assert.match(client.stdout, /Found the server with code 4071 at /);
  await assertDelivered(client, server, join(dest.path, "main.txt"));
});
