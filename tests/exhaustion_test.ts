/**
 * Clients that try to take the server down or freeze it: huge manifests
 * read back slowly by many sessions at once, and paths deep enough to cost
 * the server folder work. A legitimate client completes meanwhile, and the
 * server's memory stays bounded by its --max-memory.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { peakRss, runMemoryAttack } from "./memory_attack.ts";
import { fileEntry, folderEntry, HostileClient } from "./hostile_client.ts";
import { listTree, runClient, startServer, tempDir } from "./helpers.ts";

const MiB = 1024 * 1024;

Deno.test("sessions with huge manifests read slowly stay within the memory budget, and a transfer goes through", async () => {
  await using dest = await tempDir();
  await using server = await startServer([
    "--dir",
    dest.path,
    "--max-memory",
    "96M",
  ]);
  const idle = await peakRss(server.child.pid);
  // Each manifest alone would take about 60 MiB of the server's memory;
  // eight of them without a budget grew the server by about 560 MiB, and
  // with it by about 190 MiB (the rest of the bound is for a loaded
  // machine's garbage collector, which may lag).
  const result = await runMemoryAttack({
    port: server.port,
    sessions: 8,
    entries: 150_000,
    readBytes: 512 * 1024,
    readEveryMs: 3000,
  }, [`127.0.0.1:${server.port}`, "main.txt"]);
  assert.equal(result.legitimate.code, 0, result.legitimate.stderr);
  assert.ok(await Deno.stat(join(dest.path, "main.txt")));
  const peak = await peakRss(server.child.pid);
  console.log(
    `memory attack at a small scale: server peak RSS ${
      (peak / MiB).toFixed(0)
    } MiB (${
      (idle / MiB).toFixed(0)
    } MiB when idle), ${result.manifestsSent} of 8 manifests taken whole`,
  );
  assert.ok(result.manifestsSent < 8, "the budget held sessions back");
  assert.ok(
    peak - idle < 400 * MiB,
    `peak RSS ${peak} grew more than 400 MiB over ${idle}`,
  );
});

Deno.test("paths deeper than the limit are refused at once, and deep trees within it do not freeze the server", async () => {
  await using dest = await tempDir();
  await using server = await startServer([
    "--dir",
    dest.path,
    "--idle-timeout",
    "5",
  ]);
  // 2,000 levels: refused as a protocol violation before any folder work.
  {
    using client = await HostileClient.connect(server.port);
    await client.handshake();
    await client.send({
      type: "manifest",
      entries: [fileEntry(Array(2000).fill("d").join("/"), 1)],
      more: false,
    });
    const { messages } = await client.readToEnd();
    assert.equal(messages[0]?.type, "error");
    assert.match(
      messages[0]?.type === "error" ? messages[0].message : "",
      /has more than 256 components/,
    );
  }
  // 255 folders deep, with thousands of files at the bottom, while a real
  // client (which drops a server that stalls for 5 s) sends a file.
  const chain: string[] = [];
  for (let depth = 1; depth <= 255; depth++) {
    chain.push(Array(depth).fill("d").join("/"));
  }
  const bottom = chain.at(-1)!;
  const files = Array.from(
    { length: 5000 },
    (_, i) => fileEntry(`${bottom}/f${i}`, 0),
  );
  using client = await HostileClient.connect(server.port);
  await client.handshake();
  const entries = [...chain.map(folderEntry), ...files];
  for (let at = 0; at < entries.length; at += 500) {
    await client.send({
      type: "manifest",
      entries: entries.slice(at, at + 500),
      more: at + 500 < entries.length,
    });
  }
  const legitimate = runClient([
    "--idle-timeout",
    "5",
    `127.0.0.1:${server.port}`,
    "main.txt",
  ]);
  const decisions = [];
  while (decisions.length < chain.length + files.length) {
    const message = await client.receive();
    if (message?.type === "wait") continue;
    assert.equal(message?.type, "decisions", JSON.stringify(message));
    if (message?.type === "decisions") decisions.push(...message.items);
  }
  assert.ok(
    decisions.every((d) => d.action === "accept" || d.action === "send"),
  );
  const empty = createHash("sha256").digest("hex");
  for (let i = 0; i < files.length; i++) {
    await client.queue({ type: "file", index: chain.length + i, offset: 0 });
    await client.queue({
      type: "end",
      index: chain.length + i,
      sha256: empty,
    });
  }
  await client.send({ type: "done" });
  const { messages } = await client.readToEnd();
  assert.deepEqual(messages.at(-1), {
    type: "summary",
    verified: files.length,
    failed: 0,
  });
  const result = await legitimate;
  assert.equal(result.code, 0, result.stderr);
  assert.ok((await listTree(dest.path)).includes("main.txt"));
});
