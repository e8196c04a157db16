/**
 * A client that was told the server is busy and then finds its next
 * connection closed before the hello (what the server's limits do to an
 * address that connects too fast, as 50 clients behind one address can)
 * waits and tries again, instead of taking the server for another program.
 * In front of a real server, a scripted front answers the first
 * connection with the busy hello, closes the second at once, and passes
 * the others through.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeHello, HELLO_FLAG_BUSY, Role } from "../protocol.ts";
import { randomFile, runClient, startServer, tempDir } from "./helpers.ts";

/** Copies `from` to `to` until either ends, then closes both. */
async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  try {
    await from.readable.pipeTo(to.writable, { preventClose: true });
  } catch {
    // Either side went away.
  }
  for (const conn of [from, to]) {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

Deno.test("after a busy hello, a connection closed before the hello is retried", async () => {
  await using dir = await tempDir();
  const dest = join(dir.path, "dest");
  await Deno.mkdir(dest);
  const source = join(dir.path, "one.bin");
  const data = await randomFile(source, 64 * 1024);
  await using server = await startServer(["--dir", dest, "--once"]);
  const front = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const pumps: Promise<void>[] = [];
  const accepting = (async () => {
    let count = 0;
    for await (const conn of front) {
      count++;
      if (count === 1) {
        await conn.write(encodeHello(Role.Server, HELLO_FLAG_BUSY));
        conn.close();
      } else if (count === 2) {
        conn.close();
      } else {
        const upstream = await Deno.connect({
          hostname: "127.0.0.1",
          port: server.port,
        });
        pumps.push(pipe(conn, upstream), pipe(upstream, conn));
      }
    }
  })().catch(() => {});
  try {
    const port = (front.addr as Deno.NetAddr).port;
    const client = await runClient([`127.0.0.1:${port}`, source]);
    assert.equal(client.code, 0, client.stderr);
    // Polling a busy server is no retry, and its line says no count.
    assert.match(client.stderr, /busy[^\n]*; trying again in [\d.]+ s\n/);
    // The busy hello was no failure of the connection: this is the first.
    assert.match(client.stderr, /before its hello.*retrying in.*retry 1 of/);
    assert.deepEqual(await Deno.readFile(join(dest, "one.bin")), data);
    assert.equal((await server.exited()).code, 0);
  } finally {
    front.close();
    await accepting;
    await Promise.all(pumps);
  }
});

Deno.test("a server that stays busy is polled for as long as the retries would wait, then given up", async () => {
  await using dir = await tempDir();
  const source = join(dir.path, "one.bin");
  await randomFile(source, 1024);
  const front = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let count = 0;
  const accepting = (async () => {
    for await (const conn of front) {
      count++;
      await conn.write(encodeHello(Role.Server, HELLO_FLAG_BUSY));
      conn.close();
    }
  })().catch(() => {});
  try {
    const port = (front.addr as Deno.NetAddr).port;
    // --retries 1 waits 1 s in all: one poll of 0.5 to 1.5 s, or two.
    const client = await runClient([
      `127.0.0.1:${port}`,
      source,
      "--retries",
      "1",
    ]);
    assert.equal(client.code, 1, client.stderr);
    assert.match(
      client.stderr,
      /Server is busy: it is at its limit of simultaneous connections \(gave up after 1 retry without progress\)/,
    );
    assert.ok(count >= 2 && count <= 3, `${count} connections`);
  } finally {
    front.close();
    await accepting;
  }
});
