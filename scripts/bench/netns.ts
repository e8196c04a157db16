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

/**
 * A network namespace whose only interface is loopback, so that nothing
 * run in it can reach another machine, with files of its own in place of
 * `/etc/hosts` and `/etc/resolv.conf` (`ip netns exec` mounts them).
 */
export interface SealedNamespace {
  /** Its name, for `ip netns exec`. */
  ns: string;
  /**
   * Throws unless loopback is still its only interface and no packet was
   * dropped in it for want of a route since it was made: a program that
   * tried to reach another address bumps the kernel's OutNoRoutes count.
   */
  check(): Promise<void>;
  /** Deletes it and its files. */
  remove(): Promise<void>;
}

/** Packets the kernel dropped in namespace `ns` for want of a route. */
async function noRoutes(ns: string): Promise<number> {
  const output = await new Deno.Command("ip", {
    args: ["netns", "exec", ns, "cat", "/proc/net/snmp", "/proc/net/snmp6"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  const lines = text.split("\n");
  const ip = lines.filter((line) => line.startsWith("Ip: "));
  const names = ip[0]?.split(/\s+/) ?? [];
  const values = ip[1]?.split(/\s+/) ?? [];
  const v4 = Number(values[names.indexOf("OutNoRoutes")]);
  // Without IPv6 there is no snmp6, and no IPv6 packet either.
  const v6 = Number(text.match(/^Ip6OutNoRoutes\s+(\d+)/m)?.[1] ?? 0);
  if (!Number.isFinite(v4) || !Number.isFinite(v6)) {
    throw new Error(`cannot read the route counters of namespace ${ns}`);
  }
  return v4 + v6;
}

/** Names of the interfaces in namespace `ns`. */
async function interfaces(ns: string): Promise<string[]> {
  const output = await new Deno.Command("ip", {
    args: ["-n", ns, "-o", "link"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(output.stdout).split("\n")
    .map((line) => line.match(/^\d+:\s*([^:@\s]+)/)?.[1])
    .filter((name): name is string => name !== undefined);
}

/**
 * Creates a loopback-only namespace named after `purpose`, with `etc`
 * (file name to text) in `/etc/netns/NAME/`.
 */
export async function createSealedNamespace(
  purpose: string,
  etc: Record<string, string>,
): Promise<SealedNamespace> {
  const ns = `ftb${Deno.pid % 100_000}-${purpose}`;
  const etcDir = `/etc/netns/${ns}`;
  const cleanup = onCleanup(async () => {
    await runChecked("ip", ["netns", "del", ns]).catch(() => {});
    await Deno.remove(etcDir, { recursive: true }).catch(() => {});
  });
  try {
    await runChecked("ip", ["netns", "add", ns]);
    await runChecked("ip", ["-n", ns, "link", "set", "lo", "up"]);
    await Deno.mkdir(etcDir, { recursive: true });
    for (const [name, text] of Object.entries(etc)) {
      await Deno.writeTextFile(`${etcDir}/${name}`, text);
    }
    const before = await noRoutes(ns);
    return {
      ns,
      async check() {
        const names = await interfaces(ns);
        if (names.join() !== "lo") {
          throw new Error(
            `namespace ${ns} has interfaces ${names.join(", ")}, not only lo`,
          );
        }
        const dropped = await noRoutes(ns) - before;
        if (dropped > 0) {
          throw new Error(
            `${dropped} packets tried to leave namespace ${ns}, which has only loopback`,
          );
        }
      },
      remove: cleanup.run,
    };
  } catch (error) {
    await cleanup.run();
    throw error;
  }
}
