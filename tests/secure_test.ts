import assert from "node:assert/strict";
import { join } from "node:path";
import { FrameType } from "../protocol.ts";
import { HostileClient } from "./hostile_client.ts";
import { concat, contains, TcpProxy } from "./proxy.ts";
import {
  listTree,
  randomFile,
  ROOT,
  runClient,
  stagedFiles,
  stagedPath,
  startServer,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";

const encoder = new TextEncoder();
const CERT = join(ROOT, "tests/fixtures/test_cert.pem");
const KEY = join(ROOT, "tests/fixtures/test_key.pem");

Deno.test("a wrong code is refused on both sides and nothing is written", async () => {
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path]);
  const client = await runClient([`127.0.0.1:${server.port}`, "main.txt"], {
    env: { FT_CODE: "not-the-right-code" },
  });
  assert.equal(client.code, 1);
  assert.equal(
    client.stderr.trim(),
    "client: Wrong code, or not the server you meant: check the code and address the server printed",
  );
  assert.doesNotMatch(client.stdout, /main\.txt/);
  await server.waitFor(/failed key exchange/);
  assert.match(
    server.stderr,
    /error: Client left during key confirmation: it probably has the wrong code/,
  );
  assert.doesNotMatch(server.stdout + server.stderr, /main\.txt/);
  assert.deepEqual(await listTree(dest.path), []);
  // A code the server was given stays out of its output.
  assert.match(server.stdout, /^Code: the one given with FT_CODE/m);
  assert.ok(!server.stdout.includes(TEST_CODE));
  // The right code still works: the server kept serving.
  const right = await runClient([`127.0.0.1:${server.port}`, "main.txt"]);
  assert.equal(right.code, 0, right.stderr);
});

Deno.test("the wire shows neither file names nor contents", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const marker = "MARKER-7f3a9c-do-not-leak";
  const name = "confidential-report-name.txt";
  await Deno.writeTextFile(join(source.path, name), `${marker}\n`.repeat(1000));
  await using server = await startServer(["--dir", dest.path]);
  await using proxy = new TcpProxy(server.port);
  const client = await runClient([
    `127.0.0.1:${proxy.port}`,
    join(source.path, name),
  ]);
  assert.equal(client.code, 0, client.stderr);
  await proxy.close();
  const wire = concat([...proxy.upstream.flat(), ...proxy.downstream.flat()]);
  assert.ok(wire.length > 20_000, "the capture holds the transfer");
  for (const secret of [marker, name, "confidential", TEST_CODE]) {
    assert.ok(
      !contains(wire, encoder.encode(secret)),
      `${secret} is on the wire`,
    );
  }
  assert.equal(
    await Deno.readTextFile(join(dest.path, name)),
    `${marker}\n`.repeat(1000),
  );
});

Deno.test("a flipped bit in a data record is caught and nothing damaged is promoted", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const data = await randomFile(
    join(source.path, "payload.bin"),
    3 * 1024 * 1024,
  );
  await using server = await startServer(["--dir", dest.path]);
  const flipAt = 2_000_000;
  await using proxy = new TcpProxy(server.port, (chunk, offset) => {
    if (offset <= flipAt && flipAt < offset + chunk.length) {
      chunk[flipAt - offset] ^= 0x10;
    }
    return chunk;
  });
  const client = await runClient([
    `127.0.0.1:${proxy.port}`,
    join(source.path, "payload.bin"),
  ]);
  assert.equal(client.code, 1);
  assert.doesNotMatch(client.stdout, /verified {2}payload\.bin/);
  await server.waitFor(/Record failed authentication/);
  // Only what arrived intact before the damage is kept, hidden, to resume.
  assert.deepEqual(await listTree(dest.path), []);
  const tree = await stagedFiles(dest.path);
  const part = stagedPath(dest.path, "payload.bin");
  assert.ok(
    tree.every((name) => part.endsWith(name) || name.endsWith(".rec")),
    `${tree}`,
  );
  if (tree.length > 0) {
    const kept = await Deno.readFile(part);
    assert.ok(kept.length < flipAt);
    assert.deepEqual(kept, data.subarray(0, kept.length));
  }
  const after = await runClient([`127.0.0.1:${server.port}`, "main.txt"]);
  assert.equal(after.code, 0, after.stderr);
});

Deno.test("a replayed client session is refused", async () => {
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path]);
  await using proxy = new TcpProxy(server.port);
  const client = await runClient([`127.0.0.1:${proxy.port}`, "main.txt"]);
  assert.equal(client.code, 0, client.stderr);
  await proxy.close();
  await Deno.remove(join(dest.path, "main.txt"));
  const recorded = concat(proxy.upstream[0]);

  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await conn.write(recorded).catch(() => 0);
  const buffer = new Uint8Array(65536);
  while ((await conn.read(buffer).catch(() => null)) !== null) {
    // Drain until the server hangs up.
  }
  conn.close();
  await server.waitFor(/key confirmation failed: wrong code/);
  assert.deepEqual(await listTree(dest.path), []);
});

Deno.test("rapid wrong guesses from one address wait longer and longer", async () => {
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path]);
  const started = Date.now();
  for (let i = 0; i < 2; i++) {
    const guess = await runClient([`127.0.0.1:${server.port}`, "main.txt"], {
      env: { FT_CODE: `wrong-guess-${i}` },
    });
    assert.equal(guess.code, 1);
  }
  // The third guess goes wrong while another attempt waits behind it: that
  // one is held back by the delay the third failure owes, however slow the
  // machine (a client that starts after the delay is over is not).
  using third = await HostileClient.connect(server.port);
  using next = await HostileClient.connect(server.port);
  await third.hello();
  const keys = await third.exchangeShares();
  await next.hello();
  const nextKeys = next.exchangeShares();
  const wrong = keys.confirmation.slice();
  wrong[0] ^= 0x01;
  await third.frame(FrameType.Handshake, wrong);
  assert.ok(await third.readsEof());
  // With the right code, after its wait.
  await next.confirm(await nextKeys);
  await next.send({ type: "manifest", entries: [], more: false });
  await next.expect("decisions");
  await next.send({ type: "done" });
  await next.expect("summary");
  await server.waitFor(
    new RegExp(
      `\\[127\\.0\\.0\\.1:${next.port}\\] key exchange held back \\d+ ms after failures from 127\\.0\\.0\\.1`,
    ),
  );
  const waits = [
    ...server.stderr.matchAll(
      /the next attempt from 127\.0\.0\.1 waits (\d+) ms/g,
    ),
  ]
    .map((match) => Number(match[1]));
  assert.deepEqual(waits, [500, 1000, 2000]);
  // The second, third and last attempts were held back by 500, 1000 and
  // 2000 ms.
  assert.ok(Date.now() - started >= 3500);
  // The success cleared the record: the client gets through at once.
  const right = await runClient([`127.0.0.1:${server.port}`, "main.txt"]);
  assert.equal(right.code, 0, right.stderr);
});

Deno.test("TLS: the code still runs inside, and the certificate is checked", async () => {
  await using dest = await tempDir();
  await using server = await startServer([
    "--dir",
    dest.path,
    "--cert",
    CERT,
    "--key",
    KEY,
  ]);
  assert.match(server.stdout, /with TLS/);
  const good = await runClient([
    "--tls",
    "--ca",
    CERT,
    `localhost:${server.port}`,
    "main.txt",
  ]);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /verified {2}main\.txt/);

  const untrusted = await runClient([
    "--tls",
    `localhost:${server.port}`,
    "main.txt",
  ]);
  assert.equal(untrusted.code, 1);
  assert.match(
    untrusted.stderr,
    /^client: TLS with localhost:\d+ failed: .*--ca FILE/,
  );

  const plain = await runClient([`127.0.0.1:${server.port}`, "main.txt"]);
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /--tls/);

  const wrongCode = await runClient([
    "--tls",
    "--ca",
    CERT,
    `localhost:${server.port}`,
    "main.txt",
  ], {
    env: { FT_CODE: "tls-but-wrong-code" },
  });
  assert.equal(wrongCode.code, 1);
  assert.match(wrongCode.stderr, /Wrong code, or not the server you meant/);
  assert.deepEqual(await listTree(dest.path), ["main.txt"]);
});

Deno.test("without a code and without a terminal the client says how to give one", async () => {
  const client = await runClient(["127.0.0.1:9", "main.txt"], {
    env: { FT_CODE: "" },
  });
  assert.equal(client.code, 2);
  assert.equal(
    client.stderr.trim(),
    "client: No code: set FT_CODE, use --code-file FILE, or run in a terminal to type it",
  );
});
