import assert from "node:assert/strict";
import { listTree, runClient, startServer, tempDir } from "./helpers.ts";

Deno.test("a connection reset before it is accepted does not stop the server", async (t) => {
  const python = await new Deno.Command("python3", { args: ["-c", "pass"] })
    .output().catch(() => null);
  if (python === null || !python.success) {
    console.log(
      "skipped: python3 is needed to reset a connection with SO_LINGER 0",
    );
    return;
  }
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path]);
  const script = `
import socket, struct
for _ in range(20):
    s = socket.create_connection(("127.0.0.1", ${server.port}))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
`;
  const reset = await new Deno.Command("python3", { args: ["-c", script] })
    .output();
  assert.ok(reset.success, new TextDecoder().decode(reset.stderr));
  await t.step("the server still serves", async () => {
    const client = await runClient([`127.0.0.1:${server.port}`, "main.txt"]);
    assert.equal(client.code, 0, client.stderr);
  });
});

Deno.test("--once is not held up by an idle connection", async () => {
  await using dest = await tempDir();
  // An idle timeout far beyond what the transfer takes on a slow machine.
  await using server = await startServer([
    "--dir",
    dest.path,
    "--once",
    "--idle-timeout",
    "60",
  ]);
  using idle = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const client = await runClient([`127.0.0.1:${server.port}`, "main.txt"]);
  assert.equal(client.code, 0, client.stderr);
  const result = await server.exited();
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(
    result.stderr,
    /No data from the peer/,
    "not held until the idle peer times out",
  );
  assert.deepEqual(await listTree(dest.path), ["main.txt"]);
  assert.ok(idle);
});
