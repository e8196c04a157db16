/**
 * What LAN discovery needs from the machine: the links it can reach
 * (IPv4 directed broadcast addresses, IPv6 interfaces for link-local
 * multicast), UDP sockets bound or not, and hosts that `Deno.connect`
 * takes.
 *
 * IPv6 link-local scopes: in Deno 2.9.6, `rinfo.address` of a packet from
 * a link-local sender is the bare address ("fe80::1", with no "%eth0"),
 * and `Deno.connect` refuses a link-local address without a scope
 * (EINVAL). So link-local traffic goes through sockets bound to one
 * interface (to "ff02::1%eth0" or "fe80::...%eth0", which ties the socket
 * to that interface): what such a socket receives came over that
 * interface, its replies leave by it, and the scope of a sender is the
 * socket's interface. `Deno.connect({ hostname: "fe80::1%eth0" })` works.
 *
 * @module
 */

import dgram from "node:dgram";

/** The IPv6 all-nodes link-local multicast group. */
export const ALL_NODES = "ff02::1";

/** An interface that can carry IPv6 link-local multicast. */
export interface Link {
  /** Its name, as in "ff02::1%NAME". */
  name: string;
  /** Its link-local address, or null if it has none (yet). */
  linkLocal: string | null;
}

/** The links of this machine that discovery uses. */
export interface Links {
  /** IPv4 directed broadcast addresses, loopback's included. */
  broadcasts: string[];
  /** Interfaces with IPv6, loopback excepted (it has no multicast). */
  links: Link[];
}

/**
 * The links of the interfaces named in `only` (all when undefined), from
 * `Deno.networkInterfaces()`, which needs `--allow-sys=networkInterfaces`.
 */
export function localLinks(only?: readonly string[]): Links {
  const broadcasts: string[] = [];
  const byName = new Map<string, Link>();
  const loopback = new Set<string>();
  const infos = Deno.networkInterfaces().filter((info) =>
    only === undefined || only.includes(info.name)
  );
  for (const info of infos) {
    if (info.address === "::1" || info.address.startsWith("127.")) {
      loopback.add(info.name);
    }
  }
  for (const info of infos) {
    if (info.family === "IPv4") {
      const broadcast = directedBroadcast(info.address, info.netmask);
      if (broadcast !== null && !broadcasts.includes(broadcast)) {
        broadcasts.push(broadcast);
      }
    } else if (!loopback.has(info.name)) {
      const link = byName.get(info.name) ??
        { name: info.name, linkLocal: null };
      byName.set(info.name, link);
      if (link.linkLocal === null && isLinkLocal(info.address)) {
        link.linkLocal = info.address.split("%")[0];
      }
    }
  }
  return { broadcasts, links: [...byName.values()] };
}

/**
 * The directed broadcast address of an IPv4 address and netmask, or null
 * for a /31 or /32, which have none.
 */
export function directedBroadcast(
  address: string,
  netmask: string,
): string | null {
  const ip = ipv4Number(address);
  const mask = ipv4Number(netmask);
  if (ip === null || mask === null || (~mask >>> 0) < 3) return null;
  const broadcast = (ip | ~mask) >>> 0;
  return [24, 16, 8, 0].map((shift) => (broadcast >>> shift) & 255).join(".");
}

function ipv4Number(text: string): number | null {
  const parts = text.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) {
    return null;
  }
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>>
    0;
}

/** Whether `address` is an IPv6 link-local unicast address (fe80::/10). */
export function isLinkLocal(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

/**
 * A host `Deno.connect` takes for a sender seen at `address` by a socket
 * tied to interface `scope` (null: not tied to one): link-local addresses
 * get "%scope", and are null without one, since they cannot be reached.
 */
export function connectableHost(
  address: string,
  scope: string | null,
): string | null {
  if (address.includes("%") || !isLinkLocal(address)) return address;
  return scope === null ? null : `${address}%${scope}`;
}

/**
 * Why discovery cannot run under this program's permissions, or null:
 * it needs all of `--allow-net` (broadcast and multicast addresses are
 * not host names one could list) and `--allow-sys=networkInterfaces`.
 * Deno 2.9.6 reports a denied UDP bind as an uncaught error, not on the
 * socket, so this is asked first.
 */
export function permissionProblem(): string | null {
  const net = Deno.permissions.querySync({ name: "net" }).state;
  const sys = Deno.permissions.querySync({
    name: "sys",
    kind: "networkInterfaces",
  }).state;
  if (net === "granted" && sys === "granted") return null;
  return "it needs --allow-net and --allow-sys=networkInterfaces";
}

/** How a UDP socket is made. */
export interface SocketSpec {
  /** "udp4" or "udp6" (always IPv6 only). */
  type: "udp4" | "udp6";
  /** Address to bind, with "%scope" for a link-local or multicast one. */
  address: string;
  /** Port to bind, 0 for any. */
  port: number;
  /** Whether other sockets may share the port (SO_REUSEADDR). */
  reuse: boolean;
  /** Whether it sends to broadcast addresses (SO_BROADCAST, IPv4 only). */
  broadcast?: boolean;
}

/**
 * A bound UDP socket, with errors after the bind ignored (a send to a
 * link that is down fails on its own, nothing else depends on it).
 *
 * @throws the bind's error, with the socket closed.
 */
export function bindSocket(spec: SocketSpec): Promise<dgram.Socket> {
  const socket = dgram.createSocket({
    type: spec.type,
    reuseAddr: spec.reuse,
    ipv6Only: spec.type === "udp6",
  });
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => {
      socket.close();
      reject(error);
    };
    socket.once("error", failed);
    socket.bind(spec.port, spec.address, () => {
      socket.off("error", failed);
      socket.on("error", () => {});
      if (spec.broadcast && spec.type === "udp4") socket.setBroadcast(true);
      resolve(socket);
    });
  });
}

/** Sends `bytes` to `host`:`port`, ignoring failure (the link may be down). */
export function sendTo(
  socket: dgram.Socket,
  bytes: Uint8Array,
  port: number,
  host: string,
): void {
  try {
    socket.send(bytes, port, host, () => {});
  } catch {
    // A socket closed meanwhile: nothing to send on.
  }
}

/** Closes `socket`; resolves once it is closed. */
export function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // Already closed.
    }
  });
}

/** The reason a bind failed, in a few words, for the warning line. */
export function bindFailure(error: unknown, port: number): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "EADDRINUSE") {
    return `UDP port ${port} is taken by another program`;
  }
  if (code === "EACCES" || code === "EPERM") {
    return `no permission to use UDP port ${port}`;
  }
  const detail = typeof code === "string" && code !== "UNKNOWN"
    ? code
    : error instanceof Error
    ? error.message
    : String(error);
  return `cannot listen on UDP port ${port} (${detail})`;
}
