/**
 * Network namespaces that a test makes for itself and always removes
 * again: a {@link Lab} holds namespaces named after the test process,
 * joined by veth pairs and bridges, with addresses only inside them.
 * Namespaces left behind by a test process that was killed are removed
 * by the next lab.
 *
 * @module
 */

import { PATIENCE_MS } from "./conditions.ts";

/** The start of every namespace name a lab makes. */
const PREFIX = "ftlab";

let labs = 0;

/**
 * Tells this module's labs from those of other test files: `deno test
 * --parallel` runs them in one process, each file with its own count.
 */
const MODULE_ID = crypto.randomUUID().slice(0, 6);

/** Why namespaces cannot be made here, or null when they can. */
export async function netnsUnavailable(): Promise<string | null> {
  if (Deno.build.os !== "linux") return "network namespaces need Linux";
  if (Deno.uid() !== 0) return "making network namespaces needs root";
  const probe = await new Deno.Command("ip", { args: ["-V"] }).output()
    .catch(() => null);
  if (probe === null || !probe.success) {
    return "ip is missing (apt-get install iproute2)";
  }
  const lab = new Lab();
  try {
    await lab.add("probe");
  } catch (error) {
    return `ip netns add fails here: ${(error as Error).message}`;
  } finally {
    await lab.remove();
  }
  return null;
}

/** Runs `ip ARGS`; throws with its error output if it fails. */
export async function ip(...args: string[]): Promise<void> {
  const result = await new Deno.Command("ip", {
    args,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!result.success) {
    const text = new TextDecoder().decode(result.stderr).trim();
    throw new Error(`ip ${args.join(" ")}: ${text}`);
  }
}

/** A set of namespaces, removed together. */
export class Lab {
  readonly #id = `${PREFIX}${Deno.pid}x${MODULE_ID}${labs++}`;
  readonly #names: string[] = [];
  readonly #noIpv6 = new Set<string>();

  /**
   * Makes namespace `name` (its full name is returned) with loopback up
   * and IPv6 duplicate address detection off, so that link-local
   * addresses can be used as soon as a link is up; `ipv6: false` turns
   * IPv6 off in it altogether.
   */
  async add(name: string, options: { ipv6?: boolean } = {}): Promise<string> {
    if (this.#names.length === 0) await removeOrphans();
    const ns = `${this.#id}-${name}`;
    await ip("netns", "add", ns);
    this.#names.push(ns);
    await ip("-n", ns, "link", "set", "lo", "up");
    const off = options.ipv6 === false ? "1" : "0";
    if (options.ipv6 === false) this.#noIpv6.add(ns);
    for (const conf of ["all", "default"]) {
      await sysctl(ns, `net.ipv6.conf.${conf}.accept_dad`, "0");
      await sysctl(ns, `net.ipv6.conf.${conf}.disable_ipv6`, off);
    }
    return ns;
  }

  /**
   * Joins namespaces `a` and `b` by a veth pair, `devA` in `a` and `devB`
   * in `b`, both down (see {@link up}).
   */
  async veth(a: string, devA: string, b: string, devB: string): Promise<void> {
    await ip(
      "-n",
      a,
      "link",
      "add",
      devA,
      "type",
      "veth",
      "peer",
      "name",
      devB,
      "netns",
      b,
    );
  }

  /** Makes bridge `dev` in `ns` and puts the interfaces `ports` on it. */
  async bridge(ns: string, dev: string, ports: string[]): Promise<void> {
    await ip("-n", ns, "link", "add", dev, "type", "bridge");
    for (const port of ports) {
      await ip("-n", ns, "link", "set", port, "master", dev);
      await this.up(ns, port);
    }
  }

  /** Gives `dev` in `ns` the address `cidr`. */
  async address(ns: string, dev: string, cidr: string): Promise<void> {
    await ip("-n", ns, "addr", "add", cidr, "dev", dev);
  }

  /** Brings `dev` in `ns` up. */
  async up(ns: string, dev: string): Promise<void> {
    await ip("-n", ns, "link", "set", dev, "up");
  }

  /**
   * Waits until `dev` in `ns` is up and, unless IPv6 is off there, has
   * its link-local address, which it returns (null without IPv6).
   */
  async ready(ns: string, dev: string): Promise<string | null> {
    const deadline = Date.now() + PATIENCE_MS;
    while (Date.now() < deadline) {
      const [link] = await ipJson("-n", ns, "link", "show", "dev", dev);
      const [shown] = await ipJson("-n", ns, "addr", "show", "dev", dev);
      const linkLocal = (shown?.addr_info ?? []).find((info) =>
        info.family === "inet6" && info.scope === "link" && !info.tentative
      );
      if (
        link?.operstate === "UP" &&
        (this.#noIpv6.has(ns) || linkLocal !== undefined)
      ) {
        return linkLocal?.local ?? null;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`${dev} in ${ns} never came up`);
  }

  /**
   * Starts `command ARGS` in `ns`, with its input and output piped: a
   * program can end when its input does, which it does when the test
   * process dies.
   */
  spawn(ns: string, command: string, args: string[]): Deno.ChildProcess {
    return new Deno.Command("ip", {
      args: ["netns", "exec", ns, command, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  }

  /** Removes every namespace of the lab, and with them their links. */
  async remove(): Promise<void> {
    for (const ns of this.#names.splice(0)) {
      await ip("netns", "del", ns).catch(() => {});
    }
  }
}

/** What `ip -j` says about one interface, as far as a lab reads it. */
interface Shown {
  operstate?: string;
  addr_info?: {
    family?: string;
    scope?: string;
    local?: string;
    tentative?: boolean;
  }[];
}

/** The output of `ip -j ARGS`. */
async function ipJson(...args: string[]): Promise<Shown[]> {
  const result = await new Deno.Command("ip", { args: ["-j", ...args] })
    .output();
  if (!result.success) return [];
  return JSON.parse(new TextDecoder().decode(result.stdout) || "[]");
}

/** Sets `key` to `value` in `ns`. */
async function sysctl(ns: string, key: string, value: string): Promise<void> {
  await ip("netns", "exec", ns, "sysctl", "-q", "-w", `${key}=${value}`);
}

/** Removes the namespaces of lab processes that are gone. */
async function removeOrphans(): Promise<void> {
  const listed = await new Deno.Command("ip", { args: ["netns", "list"] })
    .output();
  const text = new TextDecoder().decode(listed.stdout);
  for (
    const match of text.matchAll(new RegExp(`^${PREFIX}(\\d+)x\\S*`, "gm"))
  ) {
    const alive = await Deno.stat(`/proc/${match[1]}`).then(
      () => true,
      () => false,
    );
    if (!alive) await ip("netns", "del", match[0]).catch(() => {});
  }
}
