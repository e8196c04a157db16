/**
 * A rate-limited link between two network namespaces that the bench
 * creates and always removes again: a veth pair with 10.77.0.1/24 on the
 * receiving side and 10.77.0.2/24 on the sending side, whose sending end
 * is shaped with a token bucket filter.
 *
 * @module
 */

import { onCleanup } from "./cleanup.ts";
import { runChecked } from "./process.ts";

/** Two namespaces joined by a shaped link. */
export interface Link {
  /** Namespace of the receiving side (the servers). */
  serverNs: string;
  /** Namespace of the sending side (the clients). */
  clientNs: string;
  /** Address of the receiving side. */
  serverHost: string;
  /** Address of the sending side. */
  clientHost: string;
  /** The shaping, as given to `tc`. */
  rate: string;
  /** Deletes both namespaces, and with them the veth pair. */
  remove(): Promise<void>;
}

/** Why links cannot be made here, or null when they can. */
export function linkUnavailable(haveIp: boolean): string | null {
  if (Deno.build.os !== "linux") return "network namespaces need Linux";
  if (Deno.uid() !== 0) {
    return "creating network namespaces needs root (run the bench as root)";
  }
  if (!haveIp) return "ip and tc are missing: apt-get install iproute2";
  return null;
}

/**
 * Creates the namespaces, the veth pair and the shaping `tbf rate RATE
 * burst 256kb latency 50ms` on the sending side's end.
 */
export async function createLink(rate = "1gbit"): Promise<Link> {
  const tag = `ftb${Deno.pid % 100_000}`;
  const serverNs = `${tag}-rx`;
  const clientNs = `${tag}-tx`;
  const serverDev = `${tag}r`;
  const clientDev = `${tag}t`;
  const cleanup = onCleanup(async () => {
    for (const ns of [serverNs, clientNs]) {
      await runChecked("ip", ["netns", "del", ns]).catch(() => {});
    }
    // Only left behind if it never made it into a namespace.
    await runChecked("ip", ["link", "del", serverDev]).catch(() => {});
  });
  const link: Link = {
    serverNs,
    clientNs,
    serverHost: "10.77.0.1",
    clientHost: "10.77.0.2",
    rate,
    remove: cleanup.run,
  };
  try {
    await runChecked("ip", ["netns", "add", serverNs]);
    await runChecked("ip", ["netns", "add", clientNs]);
    await runChecked("ip", [
      "link",
      "add",
      serverDev,
      "type",
      "veth",
      "peer",
      "name",
      clientDev,
    ]);
    await runChecked("ip", ["link", "set", serverDev, "netns", serverNs]);
    await runChecked("ip", ["link", "set", clientDev, "netns", clientNs]);
    for (
      const [ns, dev, address] of [
        [serverNs, serverDev, `${link.serverHost}/24`],
        [clientNs, clientDev, `${link.clientHost}/24`],
      ]
    ) {
      await runChecked("ip", ["-n", ns, "addr", "add", address, "dev", dev]);
      await runChecked("ip", ["-n", ns, "link", "set", dev, "up"]);
      await runChecked("ip", ["-n", ns, "link", "set", "lo", "up"]);
    }
    await runChecked("ip", [
      "netns",
      "exec",
      clientNs,
      "tc",
      "qdisc",
      "add",
      "dev",
      clientDev,
      "root",
      "tbf",
      "rate",
      rate,
      "burst",
      "256kb",
      "latency",
      "50ms",
    ]);
  } catch (error) {
    await link.remove();
    throw error;
  }
  return link;
}
