/**
 * A UDP port for a test's discovery traffic, so that tests running at
 * once, and any real server on this machine, do not hear each other.
 *
 * @module
 */

import dgram from "node:dgram";

function bindable(type: "udp4" | "udp6", port: number): Promise<boolean> {
  const socket = dgram.createSocket({ type, ipv6Only: type === "udp6" });
  return new Promise((resolve) => {
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, type === "udp4" ? "0.0.0.0" : "::", () => {
      socket.close(() => resolve(true));
    });
  });
}

/**
 * A port below the ephemeral range (where the searches' own sockets
 * land), free on IPv4 and IPv6 when it was tried.
 */
export async function freeUdpPort(): Promise<number> {
  const range = await Deno.readTextFile(
    "/proc/sys/net/ipv4/ip_local_port_range",
  ).catch(() => "32768");
  const low = Math.max(2048, Number(range.trim().split(/\s+/)[0]));
  for (;;) {
    const port = 1024 + Math.floor(Math.random() * (low - 1024));
    const free = await Promise.all([
      bindable("udp4", port),
      bindable("udp6", port),
    ]);
    if (free.every(Boolean)) return port;
  }
}
