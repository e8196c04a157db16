/**
 * Host and port handling for the command line: parsing `HOST[:PORT]` and
 * listing the addresses a server can be reached at.
 *
 * @module
 */

import { DEFAULT_PORT } from "../protocol/constants.ts";
import { UsageError } from "../common/errors.ts";

/** A host to connect to and its port. */
export interface HostPort {
  /** Host name or IP address, without brackets. */
  host: string;
  /** TCP port. */
  port: number;
}

/** Parses a TCP port number given on the command line. */
export function parsePort(text: string, allowZero = false): number {
  if (!/^\d{1,5}$/.test(text)) {
    throw new UsageError(`Invalid port ${JSON.stringify(text)}`);
  }
  const port = Number(text);
  if (port > 65535 || (port === 0 && !allowZero)) {
    throw new UsageError(`Port ${port} is out of range`);
  }
  return port;
}

/**
 * Parses `HOST`, `HOST:PORT`, `[IPV6]`, `[IPV6]:PORT` or a bare IPv6
 * address; the port defaults to {@link DEFAULT_PORT}.
 */
export function parseHostPort(text: string): HostPort {
  if (text === "") throw new UsageError("Empty host");
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1) {
      throw new UsageError(`Missing ] in ${JSON.stringify(text)}`);
    }
    const host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (host === "") throw new UsageError("Empty host");
    if (rest === "") return { host, port: DEFAULT_PORT };
    if (!rest.startsWith(":")) {
      throw new UsageError(
        `Unexpected text after ] in ${JSON.stringify(text)}`,
      );
    }
    return { host, port: parsePort(rest.slice(1)) };
  }
  const colons = text.split(":").length - 1;
  if (colons === 0) return { host: text, port: DEFAULT_PORT };
  // Several colons without brackets can only be an IPv6 address.
  if (colons > 1) {
    const last = text.lastIndexOf(":");
    const [host, port] = [text.slice(0, last), text.slice(last + 1)];
    // "::1:7000" reads as an address and as an address and a port.
    const withPort = /^[0-9]{1,5}$/.test(port) && isIPv6(host);
    const whole = isIPv6(text);
    if (whole && !withPort) return { host: text, port: DEFAULT_PORT };
    if (whole) {
      throw new UsageError(
        `${
          JSON.stringify(text)
        } is an IPv6 address, or one and a port: write [${text}] or [${host}]:${port}`,
      );
    }
    if (withPort) {
      throw new UsageError(
        `${
          JSON.stringify(text)
        } is not an IPv6 address; with a port, put the address in brackets: [${host}]:${port}`,
      );
    }
    throw new UsageError(
      `${JSON.stringify(text)} is not HOST, HOST:PORT or an IPv6 address`,
    );
  }
  const [host, port] = text.split(":");
  if (host === "") throw new UsageError("Empty host");
  return { host, port: parsePort(port) };
}

/** Whether `text` is an IPv6 address, with a zone (`%eth0`) or without. */
function isIPv6(text: string): boolean {
  // The URL parser checks IPv6 addresses exactly, but knows no zones, and
  // would read some other characters as the parts of a URL around one.
  if (/[[\]/@?#\\\s]/.test(text)) return false;
  const address = text.replace(/%[^%:]+$/, "");
  try {
    new URL(`http://[${address}]/`);
    return true;
  } catch {
    return false;
  }
}

/** Formats a host and port the way {@link parseHostPort} reads them. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The address families a listener takes connections over. */
export interface Families {
  /** Over IPv4. */
  ipv4: boolean;
  /** Over IPv6. */
  ipv6: boolean;
}

/**
 * The address families a server listening on `hostname` (one it could
 * listen on) takes connections over: 0.0.0.0 and IPv4 addresses IPv4
 * only, IPv6 addresses IPv6 only, and "::" (dual-stack) or a name both.
 */
export function listeningFamilies(hostname: string): Families {
  if (hostname === "::") return { ipv4: true, ipv6: true };
  if (hostname.includes(":")) return { ipv4: false, ipv6: true };
  if (/^[0-9.]+$/.test(hostname)) return { ipv4: true, ipv6: false };
  return { ipv4: true, ipv6: true };
}

/**
 * The addresses a server listening on `hostname` can be reached at: every
 * non-link-local interface address for a wildcard, else `hostname` itself.
 */
export function reachableAddresses(hostname: string): string[] {
  if (hostname !== "0.0.0.0" && hostname !== "::") return [hostname];
  const wantV6 = listeningFamilies(hostname).ipv6;
  const addresses: string[] = [];
  for (const info of Deno.networkInterfaces()) {
    if (info.family === "IPv6" && !wantV6) continue;
    if (info.family === "IPv6" && info.address.startsWith("fe80:")) continue;
    if (!addresses.includes(info.address)) addresses.push(info.address);
  }
  // Addresses other machines can use come first; loopback last.
  return addresses.sort((a, b) =>
    Number(isLoopback(a)) - Number(isLoopback(b))
  );
}

/** Whether `address` is this machine's own loopback address. */
export function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}
