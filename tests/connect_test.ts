/**
 * Connecting to a host that is not there, across network namespaces this
 * test makes: a host whose link drops every packet (a neighbour entry for
 * a MAC address no one has) ends after the connect timeout with one line,
 * saying so on a terminal after a moment; an address with no machine on
 * the link is "no route" in words. Skipped, with the reason printed,
 * without root or `ip netns`.
 */

import assert from "node:assert/strict";
import { ip, Lab, netnsUnavailable } from "./netns.ts";
import {
  type Finished,
  ROOT,
  runProgram,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";
import { hasTmux, tmux, waitForPane } from "./tmux.ts";

const skip = await netnsUnavailable();
if (skip !== null) console.log(`connect_test: skipped, ${skip}`);
const noTmux = skip === null && !(await hasTmux());
if (noTmux) {
  console.log(
    "connect_test: the terminal case is skipped: tmux is not installed (Debian package tmux)",
  );
}

/** Where packets are dropped, and where no machine answers. */
const DROPPED = "10.231.0.9";
const NOBODY = "10.231.0.5";

/**
 * A namespace on a link (to a second, empty one) where packets to
 * {@link DROPPED} go out to a MAC address no one has, and nothing answers
 * at {@link NOBODY}.
 */
async function deadEnds(lab: Lab): Promise<string> {
  const client = await lab.add("c", { ipv6: false });
  const other = await lab.add("o", { ipv6: false });
  await lab.veth(client, "v0", other, "v1");
  await lab.address(client, "v0", "10.231.0.1/24");
  await lab.address(other, "v1", "10.231.0.2/24");
  await lab.up(client, "v0");
  await lab.up(other, "v1");
  await lab.ready(client, "v0");
  await ip(
    "-n",
    client,
    "neigh",
    "add",
    DROPPED,
    "lladdr",
    "02:00:00:00:00:09",
    "dev",
    "v0",
    "nud",
    "permanent",
  );
  return client;
}

/** Runs `client.ts ARGS` in namespace `ns` to its end. */
function clientIn(ns: string, args: string[]): Promise<Finished> {
  return runProgram("ip", [
    "netns",
    "exec",
    ns,
    "env",
    `FT_CODE=${TEST_CODE}`,
    Deno.execPath(),
    "run",
    "-A",
    `${ROOT}client.ts`,
    ...args,
  ]);
}

Deno.test({
  name:
    "a host that drops the connection attempts ends after the connect timeout in one line",
  ignore: skip !== null,
  async fn() {
    const lab = new Lab();
    try {
      const ns = await deadEnds(lab);
      for (
        const [flags, seconds] of [[["--connect-timeout", "2"], 2], [
          [],
          10,
        ]] as const
      ) {
        const result = await clientIn(ns, [
          ...flags,
          `${DROPPED}:7000`,
          "main.txt",
        ]);
        assert.equal(result.code, 1, result.stderr);
        // Not a terminal: no "connecting to" line, only the outcome.
        assert.equal(
          result.stderr,
          `client: Timed out connecting to ${DROPPED}:7000 after ${seconds} s: is the host up, and does a firewall let the port through? (--connect-timeout waits longer)\n`,
        );
      }
    } finally {
      await lab.remove();
    }
  },
});

Deno.test({
  name: "an address with no machine behind it is no route, in words",
  ignore: skip !== null,
  async fn() {
    const lab = new Lab();
    try {
      const ns = await deadEnds(lab);
      const result = await clientIn(ns, [`${NOBODY}:7000`, "main.txt"]);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(
        result.stderr,
        `client: No route to ${NOBODY}:7000: no machine answers at that address; check the address the server printed, and that both machines are on the same network\n`,
      );
    } finally {
      await lab.remove();
    }
  },
});

Deno.test({
  name: "on a terminal, a slow connection attempt says where it connects",
  ignore: skip !== null || noTmux,
  async fn() {
    const lab = new Lab();
    await using dir = await tempDir();
    const session = `ft-connect-${Deno.pid}`;
    try {
      const ns = await deadEnds(lab);
      const command =
        `ip netns exec ${ns} env FT_CODE=${TEST_CODE} ${Deno.execPath()} run -A ${ROOT}client.ts --connect-timeout 5 ${DROPPED}:7000 ${ROOT}main.txt; echo "exit=$?"; sleep 60`;
      await tmux(
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "200",
        "-y",
        "20",
        "-c",
        dir.path,
        command,
      );
      const during = await waitForPane(
        session,
        new RegExp(
          `connecting to ${DROPPED.replaceAll(".", "\\.")}:7000\\.\\.\\.`,
        ),
        60_000,
      );
      assert.doesNotMatch(during, /Timed out/);
      const after = await waitForPane(session, /exit=\d+/, 60_000);
      assert.match(after, /client: Timed out connecting to .* after 5 s/);
      assert.match(after, /exit=1/);
    } finally {
      await tmux("kill-session", "-t", session).catch(() => "");
      await lab.remove();
    }
  },
});

Deno.test("a bad --connect-timeout is a usage error naming the flag", async () => {
  const result = await runProgram(Deno.execPath(), [
    "run",
    "-A",
    `${ROOT}client.ts`,
    "--connect-timeout",
    "soon",
    "127.0.0.1:9",
    "main.txt",
  ], { env: { FT_CODE: TEST_CODE } });
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /^client: --connect-timeout takes a duration from 1s, such as 30s/,
  );
});
