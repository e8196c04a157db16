/**
 * magic-wormhole (the Python client) and wormhole-william (the Go client)
 * from Debian, against a mailbox server and a transit relay that the bench
 * starts on loopback in a namespace that has only loopback: nothing of a
 * run can reach another machine, and the namespace's route counters show
 * that nothing tried.
 *
 * wormhole-william has no option for the transit relay and always asks
 * for transit.magic-wormhole.io:4001, so the namespace's own hosts file
 * names 127.0.0.1 for it, the relay listens on port 4001 there, and DNS
 * points at 127.0.0.1, where nothing answers.
 *
 * @module
 */

import { join } from "node:path";
import { createSealedNamespace, linkUnavailable } from "./netns.ts";
import type { SealedNamespace } from "./netns.ts";
import type { Peers } from "./peers.ts";
import { type Context, Launched, sleep, waitListening } from "./process.ts";
import { shellQuote } from "./netcat.ts";
import type { Sample } from "./stats.ts";

/** Row name of magic-wormhole. */
export const MAGIC_WORMHOLE = "magic-wormhole (encrypted, local relay)";
/** Row name of wormhole-william. */
export const WORMHOLE_WILLIAM = "wormhole-william (encrypted, local relay)";

const MAILBOX_PORT = 4000;
// wormhole-william's built-in transit relay port, which it cannot be told.
const RELAY_PORT = 4001;
const RELAY_URL = `ws://127.0.0.1:${MAILBOX_PORT}/v1`;

/** A running mailbox server and transit relay in a sealed namespace. */
export interface WormholeSite {
  /** The namespace everything runs in. */
  space: SealedNamespace;
  /** Stops both servers and deletes the namespace. */
  close(): Promise<void>;
}

/** Why the wormhole rows cannot run here, or null when they can. */
export function wormholeUnavailable(peers: Peers): string | null {
  if (!peers.wormhole && !peers.wormholeWilliam) {
    return "neither wormhole nor wormhole-william is installed";
  }
  if (!peers.mailbox || !peers.transitRelay) {
    return "the magic-wormhole mailbox server or transit relay is missing";
  }
  return linkUnavailable(peers.ip);
}

/** Starts the mailbox server and the transit relay in a new namespace. */
export async function startWormholeSite(ctx: Context): Promise<WormholeSite> {
  const space = await createSealedNamespace("wh", {
    hosts: "127.0.0.1 localhost transit.magic-wormhole.io " +
      "relay.magic-wormhole.io\n",
    "resolv.conf": "nameserver 127.0.0.1\n",
  });
  const servers: Launched[] = [];
  const close = async () => {
    for (const server of servers) await server.kill();
    await space.remove();
  };
  try {
    const twistd = ["-n", "--pidfile="];
    const listen = (port: number) => `--port=tcp:${port}:interface=127.0.0.1`;
    for (
      const [name, args, port] of [
        ["mailbox server", [
          "wormhole-mailbox",
          listen(MAILBOX_PORT),
          `--channel-db=${join(ctx.work, "wormhole-mailbox.sqlite")}`,
        ], MAILBOX_PORT],
        ["transit relay", ["transitrelay", listen(RELAY_PORT)], RELAY_PORT],
      ] as const
    ) {
      const server = new Launched(ctx, name, "twistd3", [...twistd, ...args], {
        ns: space.ns,
        measure: false,
      });
      servers.push(server);
      await waitListening(port, server.pid, 30_000);
    }
    await space.check();
  } catch (error) {
    await close();
    throw error;
  }
  return { space, close };
}

/** Connections to the mailbox in the site's namespace, as its tables say. */
async function mailboxConnections(pid: number): Promise<number> {
  const hex = MAILBOX_PORT.toString(16).toUpperCase().padStart(4, "0");
  let count = 0;
  for (const table of ["tcp", "tcp6"]) {
    const text = await Deno.readTextFile(`/proc/${pid}/net/${table}`)
      .catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // Established, from the mailbox's end.
      if (fields[1]?.endsWith(`:${hex}`) && fields[3] === "01") count++;
    }
  }
  return count;
}

let codes = 0;

/**
 * One transfer of `source` (named `name`) into folder `dest` with `tool`:
 * the sender starts first and is waited for until it is connected to the
 * mailbox, as a listening receiver is for ours; then seconds from
 * starting the receiver until both exited with status 0.
 */
export async function runWormhole(
  ctx: Context,
  site: WormholeSite,
  tool: typeof MAGIC_WORMHOLE | typeof WORMHOLE_WILLIAM,
  source: string,
  name: string,
  dest: string,
): Promise<Sample> {
  const code = `${++codes}-bench-code`;
  const ns = site.space.ns;
  const python = tool === MAGIC_WORMHOLE;
  const global = python
    ? [
      "--relay-url",
      RELAY_URL,
      "--transit-helper",
      `tcp:127.0.0.1:${RELAY_PORT}`,
    ]
    : ["--relay-url", RELAY_URL];
  const command = python ? "wormhole" : "wormhole-william";
  const sender = new Launched(ctx, `${command} send`, command, [
    ...global,
    "send",
    "--hide-progress",
    "--code",
    code,
    source,
  ], { ns });
  let receiver: Launched | null = null;
  let seconds: number;
  try {
    const deadline = performance.now() + 30_000;
    while (await mailboxConnections(sender.pid) === 0) {
      if (sender.ended) throw sender.failure("exited before it was ready");
      if (performance.now() > deadline) {
        throw sender.failure("did not reach the mailbox in 30 s");
      }
      await sleep(2);
    }
    const started = performance.now();
    receiver = python
      ? new Launched(ctx, `${command} receive`, command, [
        ...global,
        "receive",
        "--hide-progress",
        "--accept-file",
        "-o",
        join(dest, name),
        code,
      ], { ns })
      // wormhole-william writes into its working folder and asks before it
      // accepts: the answer comes on its standard input.
      : new Launched(ctx, `${command} receive`, "bash", [
        "-c",
        `cd ${shellQuote(dest)} && exec ${
          [command, ...global, "receive", "--hide-progress", code]
            .map(shellQuote).join(" ")
        } <<< y`,
      ], { ns });
    await receiver.succeed();
    await sender.succeed();
    seconds = (performance.now() - started) / 1000;
  } finally {
    await sender.kill();
    await receiver?.kill();
  }
  await site.space.check();
  return {
    seconds,
    rss: [await sender.peakRssKiB(), await receiver.peakRssKiB()],
  };
}
