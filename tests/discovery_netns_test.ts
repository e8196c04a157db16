/**
 * LAN discovery across network namespaces the tests make (root only):
 * found by IPv4 broadcast and by IPv6 link-local multicast, the right one
 * of two servers, and none.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type FoundServer } from "../lib/net/discovery.ts";
import { PATIENCE_MS } from "./conditions.ts";
import { ONLY_AT_START, PEER, watch } from "./discovery_peers.ts";
import { Lab, netnsUnavailable } from "./netns.ts";

const netnsProblem = await netnsUnavailable();
if (netnsProblem !== null) {
  console.log(`discovery_test: namespace tests skipped, ${netnsProblem}`);
}

/** What a `find` peer printed. */
interface FindResult {
  found: FoundServer[];
  ms: number;
  greetings: string[];
}

/** Runs a responder peer in `ns`; resolves when it is ready. */
async function servePeer(lab: Lab, ns: string, tag: number, udpPort: number) {
  const peer = startPeer(lab, ns, [
    "serve",
    String(tag),
    String(udpPort),
    String(ONLY_AT_START),
  ]);
  const ready = JSON.parse(await peer.next()) as { port: number; id: number };
  return { ...ready, stop: peer.stop };
}

/** Starts a peer in `ns`. */
function startPeer(lab: Lab, ns: string, args: string[]) {
  return watch(lab.spawn(ns, Deno.execPath(), ["run", "-A", PEER, ...args]));
}

/** Runs `discover()` in `ns` in a peer process. */
async function findPeer(
  lab: Lab,
  ns: string,
  tag: number,
  udpPort: number,
  timeoutMs = PATIENCE_MS,
): Promise<FindResult> {
  const child = lab.spawn(ns, Deno.execPath(), [
    "run",
    "-A",
    PEER,
    "find",
    String(tag),
    String(udpPort),
    String(timeoutMs),
    "150",
  ]);
  await child.stdin.close();
  const { success, stdout, stderr } = await child.output();
  const text = new TextDecoder();
  assert.ok(success, text.decode(stderr));
  return JSON.parse(text.decode(stdout));
}

/** Two namespaces joined by a veth pair: client `v0`, server `v1`. */
async function pair(
  lab: Lab,
  options: { ipv4: boolean; ipv6: boolean },
): Promise<{ client: string; server: string; serverLinkLocal: string | null }> {
  const client = await lab.add("c", { ipv6: options.ipv6 });
  const server = await lab.add("s", { ipv6: options.ipv6 });
  await lab.veth(client, "v0", server, "v1");
  if (options.ipv4) {
    await lab.address(client, "v0", "10.99.1.1/24");
    await lab.address(server, "v1", "10.99.1.2/24");
  }
  await lab.up(client, "v0");
  await lab.up(server, "v1");
  await lab.ready(client, "v0");
  const serverLinkLocal = await lab.ready(server, "v1");
  return { client, server, serverLinkLocal };
}

Deno.test({
  name: "a server in another namespace is found by IPv4 broadcast",
  ignore: netnsProblem !== null,
  async fn() {
    const lab = new Lab();
    try {
      const { client, server } = await pair(lab, { ipv4: true, ipv6: false });
      const serving = await servePeer(lab, server, 4071, 41000);
      try {
        const result = await findPeer(lab, client, 4071, 41000);
        assert.deepEqual(result.found, [{
          host: "10.99.1.2",
          port: serving.port,
          flags: 0,
          via: "ipv4",
          id: serving.id,
        }]);
        assert.deepEqual(result.greetings, ["tag 4071"]);
      } finally {
        await serving.stop();
      }
    } finally {
      await lab.remove();
    }
  },
});

Deno.test({
  name: "a server in another namespace is found by IPv6 link-local multicast",
  ignore: netnsProblem !== null,
  async fn() {
    const lab = new Lab();
    try {
      const { client, server, serverLinkLocal } = await pair(lab, {
        ipv4: false,
        ipv6: true,
      });
      // Something that hears the responder announce itself as it starts.
      const hearing = startPeer(lab, client, ["hear", "41000", "v0"]);
      assert.equal(await hearing.next(), "ready");
      const serving = await servePeer(lab, server, 4071, 41000);
      try {
        assert.deepEqual(JSON.parse(await hearing.next()), {
          host: serverLinkLocal,
          tag: 4071,
          id: serving.id,
          port: serving.port,
        });
        await hearing.stop();
        const result = await findPeer(lab, client, 4071, 41000);
        assert.deepEqual(result.found, [{
          host: `${serverLinkLocal}%v0`,
          port: serving.port,
          flags: 0,
          via: "ipv6",
          id: serving.id,
        }]);
        assert.deepEqual(result.greetings, ["tag 4071"]);
      } finally {
        await serving.stop();
      }
      // Announcements alone, from a peer that answers no query.
      const announcing = startPeer(lab, server, [
        "announce",
        "4071",
        "41000",
        "v1",
        "77",
        "7777",
      ]);
      try {
        assert.equal(await announcing.next(), "ready");
        const result = await findPeer(lab, client, 4071, 41000);
        assert.deepEqual(result.found, [{
          host: `${serverLinkLocal}%v0`,
          port: 7777,
          flags: 0,
          via: "ipv6",
          id: 77,
        }]);
      } finally {
        await announcing.stop();
      }
    } finally {
      await lab.remove();
    }
  },
});

Deno.test({
  name: "of two servers in two namespaces, the one with the tag is found",
  ignore: netnsProblem !== null,
  async fn() {
    const lab = new Lab();
    try {
      // The client's namespace holds a bridge with a port to each server.
      const client = await lab.add("c");
      const servers = [await lab.add("s1"), await lab.add("s2")];
      for (const [i, ns] of servers.entries()) {
        await lab.veth(client, `p${i}`, ns, "v0");
        await lab.address(ns, "v0", `10.99.2.${i + 2}/24`);
        await lab.up(ns, "v0");
      }
      await lab.bridge(client, "br0", ["p0", "p1"]);
      await lab.address(client, "br0", "10.99.2.1/24");
      await lab.up(client, "br0");
      await lab.ready(client, "br0");
      for (const ns of servers) await lab.ready(ns, "v0");
      const one = await servePeer(lab, servers[0], 1111, 41000);
      const two = await servePeer(lab, servers[1], 2222, 41000);
      try {
        for (const [tag, serving] of [[1111, one], [2222, two]] as const) {
          const result = await findPeer(lab, client, tag, 41000);
          // Found over IPv4 and IPv6, counted once.
          assert.deepEqual(
            result.found.map((found) => [found.id, found.port]),
            [[serving.id, serving.port]],
          );
          assert.deepEqual(result.greetings, [`tag ${tag}`]);
        }
      } finally {
        await one.stop();
        await two.stop();
      }
    } finally {
      await lab.remove();
    }
  },
});

Deno.test({
  name: "with no server in the other namespace, the search ends empty",
  ignore: netnsProblem !== null,
  async fn() {
    const lab = new Lab();
    try {
      const { client } = await pair(lab, { ipv4: true, ipv6: true });
      const result = await findPeer(lab, client, 4071, 41000, 1000);
      assert.deepEqual(result, { found: [], ms: result.ms, greetings: [] });
    } finally {
      await lab.remove();
    }
  },
});
