/**
 * The code-only flows across network namespaces, with the real programs:
 * a client finds its server by the code alone, whichever side has the
 * files, among other servers on the same network. Three namespaces: the
 * client's holds a bridge with a veth pair to each server's.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { generateCode } from "../lib/secure/code.ts";
import {
  finish,
  type Finished,
  listTree,
  ROOT,
  ServerProcess,
  tempDir,
} from "./helpers.ts";
import { Lab, netnsUnavailable } from "./netns.ts";

const netnsProblem = await netnsUnavailable();
if (netnsProblem !== null) {
  console.log(`lan_test: skipped, ${netnsProblem}`);
}

/** The client's namespace and the two servers', with their addresses. */
interface Network {
  lab: Lab;
  client: string;
  servers: Host[];
}

/** A server's namespace and the addresses it may be found at. */
interface Host {
  ns: string;
  address: string;
  linkLocal: string | null;
}

/**
 * The line saying the client found `host`: by its IPv4 address, or by its
 * IPv6 link-local one on the client's bridge when that answered first.
 */
function foundAt(host: Host): RegExp {
  const ipv6 = host.linkLocal === null ? "" : `|\\[${host.linkLocal}%br0\\]`;
  return new RegExp(`at (${host.address.replaceAll(".", "\\.")}${ipv6}):65432`);
}

async function network(): Promise<Network> {
  const lab = new Lab();
  const client = await lab.add("c");
  const servers: Host[] = [];
  const ports = [];
  for (const i of [1, 2]) {
    const ns = await lab.add(`s${i}`);
    await lab.veth(client, `p${i}`, ns, "v0");
    await lab.address(ns, "v0", `10.98.0.${i + 1}/24`);
    await lab.up(ns, "v0");
    servers.push({ ns, address: `10.98.0.${i + 1}`, linkLocal: null });
    ports.push(`p${i}`);
  }
  await lab.bridge(client, "br0", ports);
  await lab.address(client, "br0", "10.98.0.1/24");
  await lab.up(client, "br0");
  await lab.ready(client, "br0");
  for (const server of servers) {
    server.linkLocal = await lab.ready(server.ns, "v0");
  }
  return { lab, client, servers };
}

/** Runs `deno ARGS` in namespace `ns`. */
function spawnIn(
  ns: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): Deno.ChildProcess {
  return new Deno.Command("ip", {
    args: ["netns", "exec", ns, Deno.execPath(), ...args],
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Starts `server.ts ARGS` in `ns` with `code`, and waits until it
 * answers discovery (it says so in its instructions).
 */
async function startServerIn(
  ns: string,
  code: string,
  args: string[],
  cwd: string,
): Promise<ServerProcess> {
  const server = new ServerProcess(
    spawnIn(ns, ["run", "-A", join(ROOT, "server.ts"), ...args], {
      cwd,
      env: { FT_CODE: code },
    }),
  );
  await server.waitFor(/On another machine of this network/);
  return server;
}

/** Runs `client.ts ARGS` in `ns` with `code`, from folder `cwd`. */
function runClientIn(
  ns: string,
  code: string,
  args: string[],
  cwd: string,
): Promise<Finished> {
  return finish(
    spawnIn(ns, ["run", "-A", join(ROOT, "client.ts"), ...args], {
      cwd,
      env: { FT_CODE: code },
    }),
  );
}

/** A generated code with the number `tag`. */
function codeWithTag(tag: number): string {
  return generateCode().replace(/^\d+/, String(tag));
}

async function withNetwork(test: (net: Network) => Promise<void>) {
  const net = await network();
  try {
    await test(net);
  } finally {
    await net.lab.remove();
  }
}

/** A folder of a few files to send, with a subfolder. */
async function makeFolder(parent: string): Promise<string> {
  const folder = join(parent, "photos");
  await Deno.mkdir(join(folder, "2026"), { recursive: true });
  await Deno.writeTextFile(join(folder, "a.txt"), "first\n");
  await Deno.writeFile(
    join(folder, "2026", "b.bin"),
    crypto.getRandomValues(new Uint8Array(50_000)),
  );
  return folder;
}

async function assertSameTree(got: string, want: string): Promise<void> {
  const files = await listTree(want);
  assert.deepEqual(await listTree(got), files);
  for (const file of files) {
    const wanted = await Deno.readFile(join(want, file)).catch(() => null);
    if (wanted !== null) {
      assert.deepEqual(await Deno.readFile(join(got, file)), wanted, file);
    }
  }
}

Deno.test({
  name:
    "a client finds the server in another namespace by its code alone and sends a folder",
  ignore: netnsProblem !== null,
  fn: () =>
    withNetwork(async ({ client, servers: [s1] }) => {
      await using work = await tempDir();
      const folder = await makeFolder(work.path);
      const code = generateCode();
      const dest = join(work.path, "received");
      await using server = await startServerIn(
        s1.ns,
        code,
        ["--once", "--dir", dest],
        work.path,
      );
      const sent = await runClientIn(client, code, [folder], work.path);
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(
        sent.stdout,
        new RegExp(
          `Found the server with code ${code.split("-")[0]} ${
            foundAt(s1).source
          }`,
        ),
      );
      assert.equal((await server.exited()).code, 0);
      await assertSameTree(join(dest, "photos"), folder);
    }),
});

Deno.test({
  name:
    "a sharing server's printed command, run in another namespace, gets the file with no address typed",
  ignore: netnsProblem !== null,
  fn: () =>
    withNetwork(async ({ client, servers: [s1] }) => {
      await using work = await tempDir();
      const report = join(work.path, "report.pdf");
      await Deno.writeFile(
        report,
        new Uint8Array(300_000).map((_, i) => (i * 7919) % 251),
      );
      // The server makes the code up, as a person would leave it to.
      const server = new ServerProcess(
        spawnIn(s1.ns, [
          "run",
          "-A",
          join(ROOT, "server.ts"),
          "--share",
          report,
        ], {
          cwd: work.path,
          env: {},
        }),
      );
      await using _server = server;
      const printed = await server.waitFor(
        /^ {2}(FT_CODE=(\S+) deno run -A (\S+) --get)$/m,
      );
      // Run from outside the checkout, the server names the client by its
      // absolute path: the command works as printed, from anywhere.
      assert.equal(printed[3], join(ROOT, "client.ts"));
      const [name, value] = printed[1].split(" ")[0].split("=");
      const args = printed[1].split(" ").slice(2);
      // Which address is for other machines and which for this one alone.
      const command = `FT_CODE=${printed[2]} deno run -A ${printed[3]} --get`;
      await server.waitFor(/^On this machine, get them with:\n.*$/m);
      assert.equal(
        server.stdout.slice(server.stdout.indexOf("On another machine")),
        [
          "On another machine of this network, get them with:",
          `  ${command}`,
          "or, where that does not find this server, with its address:",
          `  ${command} ${s1.address}`,
          "On this machine, get them with:",
          `  ${command} 127.0.0.1`,
          "",
        ].join("\n"),
      );
      const inbox = join(work.path, "inbox");
      await Deno.mkdir(inbox);
      const got = await finish(
        new Deno.Command("ip", {
          args: ["netns", "exec", client, Deno.execPath(), ...args],
          cwd: inbox,
          env: { [name]: value },
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn(),
      );
      assert.equal(got.code, 0, got.stderr);
      assert.match(got.stdout, foundAt(s1));
      assert.deepEqual(
        await Deno.readFile(join(inbox, "report.pdf")),
        await Deno.readFile(report),
      );
      // One successful download ends the sharing.
      assert.equal((await server.exited()).code, 0);
    }),
});

Deno.test({
  name:
    "of two servers with different numbers, the client picks the one with its code's",
  ignore: netnsProblem !== null,
  fn: () =>
    withNetwork(async ({ client, servers: [s1, s2] }) => {
      await using work = await tempDir();
      const folder = await makeFolder(work.path);
      const codes = [codeWithTag(1111), codeWithTag(2222)];
      const dests = [join(work.path, "one"), join(work.path, "two")];
      await using _one = await startServerIn(
        s1.ns,
        codes[0],
        ["--dir", dests[0]],
        work.path,
      );
      await using two = await startServerIn(
        s2.ns,
        codes[1],
        ["--once", "--dir", dests[1]],
        work.path,
      );
      const sent = await runClientIn(client, codes[1], [folder], work.path);
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(sent.stdout, foundAt(s2));
      assert.doesNotMatch(sent.stdout, foundAt(s1));
      assert.equal((await two.exited()).code, 0);
      await assertSameTree(join(dests[1], "photos"), folder);
      assert.deepEqual(await listTree(dests[0]), []);
    }),
});

Deno.test({
  name:
    "of two servers with the same number and different codes, the wrong one fails cleanly and the right one gets the files",
  ignore: netnsProblem !== null,
  fn: () =>
    withNetwork(async ({ client, servers: [s1, s2] }) => {
      await using work = await tempDir();
      const folder = await makeFolder(work.path);
      let codes = [codeWithTag(4071), codeWithTag(4071)];
      while (codes[0] === codes[1]) codes = [codes[0], codeWithTag(4071)];
      const dests = [join(work.path, "wrong"), join(work.path, "right")];
      await using wrong = await startServerIn(
        s1.ns,
        codes[0],
        ["--dir", dests[0]],
        work.path,
      );
      await using right = await startServerIn(
        s2.ns,
        codes[1],
        ["--once", "--dir", dests[1]],
        work.path,
      );
      const sent = await runClientIn(client, codes[1], [folder], work.path);
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(sent.stdout, foundAt(s2));
      assert.equal((await right.exited()).code, 0);
      await assertSameTree(join(dests[1], "photos"), folder);
      assert.deepEqual(await listTree(dests[0]), []);
      // Whether the client tried the wrong one first is chance; when it
      // did, that cost it one failed guess there and nothing more.
      const firstFound = sent.stdout.match(/^Found the server .*$/m)![0];
      if (foundAt(s1).test(firstFound)) {
        assert.match(sent.stderr, /trying the next server found/);
      }
      // With the right one gone, the wrong one is all there is: one line,
      // nothing written there, and it still serves its own clients.
      await right.stop();
      const lost = await runClientIn(client, codes[1], [folder], work.path);
      assert.equal(lost.code, 1);
      assert.match(lost.stdout, foundAt(s1));
      assert.match(lost.stderr, /^client: Wrong code/m);
      assert.deepEqual(await listTree(dests[0]), []);
      const own = await runClientIn(client, codes[0], [folder], work.path);
      assert.equal(own.code, 0, own.stderr);
      await assertSameTree(join(dests[0], "photos"), folder);
      await wrong.stop();
    }),
});

Deno.test({
  name: "with no server on the network, the client says so in one line",
  ignore: netnsProblem !== null,
  fn: () =>
    withNetwork(async ({ client }) => {
      await using work = await tempDir();
      const started = performance.now();
      const sent = await runClientIn(
        client,
        codeWithTag(4071),
        ["--get"],
        work.path,
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(`lan_test: no server answered, said after ${seconds} s`);
      assert.equal(sent.code, 1);
      assert.equal(
        sent.stderr.trim(),
        `client: No server with code 4071 answered on this network: is it running, on the same network, and does its firewall let UDP port 65432 through? (Or give its address: deno run -A ${
          join(ROOT, "client.ts")
        } HOST --get)`,
      );
    }),
});
