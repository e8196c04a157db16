/**
 * The command-line rules around discovery, on this machine: what tells an
 * address from a file, when the client looks for its server, and when a
 * server can be found at all. Each test has a UDP port of its own.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, runClient, startServer, tempDir } from "./helpers.ts";
import { Lab, netnsUnavailable } from "./netns.ts";
import { freeUdpPort } from "./udp_port.ts";

/** A generated code: one with a number to be found by. */
const CODE = "4071-apple-river-stone";

Deno.test("a server found by its code on this machine gets the files, and says where it was found", async () => {
  await using dest = await tempDir();
  const udpPort = String(await freeUdpPort());
  await using server = await startServer(
    ["--once", "--dir", dest.path, "--discovery-port", udpPort],
    { FT_CODE: CODE },
  );
  await server.waitFor(/of this network/);
  const sent = await runClient(
    ["main.txt", "--discovery-port", udpPort],
    { env: { FT_CODE: CODE } },
  );
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(
    sent.stdout,
    new RegExp(
      `^Found the server with code 4071 at [^ ]+:${server.port}$`,
      "m",
    ),
  );
  assert.equal((await server.exited()).code, 0);
  assert.equal(
    await Deno.readTextFile(join(dest.path, "main.txt")),
    await Deno.readTextFile("main.txt"),
  );
});

Deno.test("a server started with --no-discover is not found, and says how to reach it", async () => {
  await using dest = await tempDir();
  const udpPort = String(await freeUdpPort());
  await using server = await startServer(
    ["--dir", dest.path, "--no-discover"],
    { FT_CODE: CODE },
  );
  // The lines after "Listening on" may still be on their way.
  await server.waitFor(/On this machine, send files with:/);
  assert.doesNotMatch(server.stdout, /of this network/);
  const sent = await runClient(
    ["main.txt", "--discovery-port", udpPort],
    { env: { FT_CODE: CODE } },
  );
  assert.equal(sent.code, 1);
  assert.match(
    sent.stderr,
    /^client: No server with code 4071 answered on this network: .*UDP port \d+ through\? \(Or give its address: deno run -A client\.ts HOST FILE\.\.\.\)$/m,
  );
});

Deno.test("a server that shares is not taken by a client that sends, and the client says why", async () => {
  const udpPort = String(await freeUdpPort());
  await using server = await startServer(
    ["--share", "main.txt", "--discovery-port", udpPort],
    { FT_CODE: CODE },
  );
  await server.waitFor(/of this network/);
  const sent = await runClient(
    ["main.txt", "--discovery-port", udpPort],
    { env: { FT_CODE: CODE } },
  );
  assert.equal(sent.code, 1);
  assert.equal(
    sent.stderr.trim(),
    "client: The server with code 4071 shares files rather than receiving them: get them with deno run -A client.ts --get",
  );
});

Deno.test("a custom code is not looked for on the network: the client asks for the address", async () => {
  const sent = await runClient(["main.txt"]);
  assert.equal(sent.code, 2);
  assert.equal(
    sent.stderr.trim(),
    "client: A custom code cannot be found on the network: give the server's address, as in deno run -A client.ts HOST FILE...",
  );
});

Deno.test("one argument that is not a file here is neither taken as a host nor sent", async () => {
  const sent = await runClient(["report.txt"]);
  assert.equal(sent.code, 2);
  assert.equal(
    sent.stderr.trim(),
    "client: report.txt is not a file or folder here; to send to a server at report.txt, name what to send too: deno run -A client.ts report.txt FILE...",
  );
});

const netnsProblem = await netnsUnavailable();
if (netnsProblem !== null) {
  console.log(
    `discovery_cli_test: the host lookup test skipped, ${netnsProblem}`,
  );
}

Deno.test({
  name: "an address that is not found, and is no file here either, says both",
  ignore: netnsProblem !== null,
  async fn() {
    // In a namespace with loopback only, the lookup fails without a
    // packet leaving the machine.
    const lab = new Lab();
    try {
      const ns = await lab.add("dns");
      const output = await new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          ns,
          Deno.execPath(),
          "run",
          "-A",
          join(ROOT, "client.ts"),
          "no-such-host.invalid",
          "main.txt",
        ],
        cwd: ROOT,
        env: { FT_CODE: CODE },
        stdin: "null",
      }).output();
      assert.equal(output.code, 1);
      assert.equal(
        new TextDecoder().decode(output.stderr).trim(),
        "client: Cannot find host no-such-host.invalid, and no file or folder here is called no-such-host.invalid either: check the name (the first argument is the server's address unless it is a file or folder here)",
      );
    } finally {
      await lab.remove();
    }
  },
});

Deno.test("--discovery-port with an address is a usage error", async () => {
  const sent = await runClient([
    "127.0.0.1",
    "main.txt",
    "--discovery-port",
    "4000",
  ]);
  assert.equal(sent.code, 2);
  assert.match(sent.stderr, /--discovery-port does not apply/);
});
