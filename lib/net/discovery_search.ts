/**
 * The client side of LAN discovery: one search, its sockets and what it
 * takes from them, as `discovery.ts` describes.
 *
 * @module
 */

import type dgram from "node:dgram";
import {
  decodeAnswer,
  DISCOVERY_PORT,
  encodeQuery,
  randomNonzeroU32,
} from "./discovery_packet.ts";
import {
  ALL_NODES,
  closeSocket,
  connectableHost,
  localLinks,
  sendTo,
  type SocketSpec,
} from "./discovery_sockets.ts";

/** How often a search sends its queries again. */
export const RESEND_MS = 200;

/** How long a search waits after the first answer for others, by default. */
export const GRACE_MS = 150;

/** The most servers one search keeps. */
export const MAX_SERVERS = 64;

/** A server found by `discover`. */
export interface FoundServer {
  /**
   * Its address, as `Deno.connect({ hostname })` takes it: IPv4, IPv6, or
   * IPv6 link-local with its scope ("fe80::1%eth0").
   */
  host: string;
  /** Its TCP port. */
  port: number;
  /** `FLAG_TLS` and `FLAG_SHARES`. */
  flags: number;
  /** Whether its answer or announcement came over IPv4 or IPv6. */
  via: "ipv4" | "ipv6";
  /** Its random server id (one per run of a server). */
  id: number;
}

/** How `discover` searches. */
export interface DiscoverOptions {
  /** How long to wait for a first answer, in milliseconds. */
  timeoutMs: number;
  /** The UDP port; {@link DISCOVERY_PORT} unless given. */
  udpPort?: number;
  /** Ends the search; `discover` then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** How long to wait for more after the first answer ({@link GRACE_MS}). */
  graceMs?: number;
  /**
   * Only these interfaces (names as `Deno.networkInterfaces()` gives
   * them), and then not 255.255.255.255 either; all when not given.
   */
  interfaces?: readonly string[];
  /** Which servers count (for example by their flags); all by default. */
  accept?: (server: FoundServer) => boolean;
}

/** A socket of a search: what it binds, where it asks, what it hears. */
export interface Role {
  spec: SocketSpec;
  /** Where it sends the query, at the discovery port. */
  targets: string[];
  /** The interface it is tied to, for the scope of link-local senders. */
  scope: string | null;
  /** Whether it hears announcements (nonce 0) rather than answers. */
  listens: boolean;
}

/** One search: its sockets, its nonce, what it found so far. */
export class Search {
  readonly #tag: number;
  readonly #nonce = randomNonzeroU32();
  readonly #sockets: [dgram.Socket, Role][];
  readonly #options: DiscoverOptions;
  readonly #deadline: number;
  readonly #found = new Map<number, FoundServer>();
  readonly #done = Promise.withResolvers<FoundServer[]>();
  readonly #timers: ReturnType<typeof setTimeout>[] = [];
  #finished = false;

  constructor(
    tag: number,
    sockets: [dgram.Socket, Role][],
    options: DiscoverOptions,
    deadline: number,
  ) {
    this.#tag = tag;
    this.#sockets = sockets;
    this.#options = options;
    this.#deadline = deadline;
  }

  /** Asks until the grace after the first answer or the deadline ends. */
  run(): Promise<FoundServer[]> {
    const { signal } = this.#options;
    if (signal?.aborted) {
      this.#finish(signal.reason);
      return this.#done.promise;
    }
    const onAbort = () => this.#finish(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#done.promise.finally(() =>
      signal?.removeEventListener("abort", onAbort)
    ).catch(() => {});
    for (const [socket, role] of this.#sockets) {
      socket.on("message", (bytes: Uint8Array, from: dgram.RemoteInfo) => {
        this.#receive(bytes, from, role);
      });
    }
    const query = encodeQuery({ tag: this.#tag, nonce: this.#nonce });
    const udpPort = this.#options.udpPort ?? DISCOVERY_PORT;
    const ask = () => {
      for (const [socket, role] of this.#sockets) {
        for (const target of role.targets) {
          sendTo(socket, query, udpPort, target);
        }
      }
    };
    this.#timers.push(
      setInterval(ask, RESEND_MS),
      setTimeout(() => this.#finish(), this.#left()),
    );
    ask();
    return this.#done.promise;
  }

  /** Milliseconds to the deadline, 0 once past it. */
  #left(): number {
    return Math.max(0, this.#deadline - performance.now());
  }

  /** Takes a packet that is a valid answer of the right search, or nothing. */
  #receive(bytes: Uint8Array, from: dgram.RemoteInfo, role: Role): void {
    const found = this.#found;
    if (this.#finished || found.size >= MAX_SERVERS) return;
    const answer = decodeAnswer(bytes);
    if (answer === null || answer.tag !== this.#tag) return;
    if (answer.nonce !== (role.listens ? 0 : this.#nonce)) return;
    const via = role.spec.type === "udp4" ? "ipv4" : "ipv6";
    const known = found.get(answer.id);
    // One server answering over both: its IPv4 address is the one people
    // recognize (and type), so it replaces an IPv6 one in the same place.
    if (known !== undefined && (known.via === "ipv4" || via === "ipv6")) {
      return;
    }
    const host = connectableHost(from.address, role.scope);
    if (host === null) return;
    const server: FoundServer = {
      host,
      port: answer.port,
      flags: answer.flags,
      via,
      id: answer.id,
    };
    if (known !== undefined) {
      found.set(answer.id, server);
      return;
    }
    const { accept, graceMs = GRACE_MS } = this.#options;
    if (accept !== undefined && !accept(server)) return;
    found.set(answer.id, server);
    if (found.size >= MAX_SERVERS) this.#finish();
    else if (found.size === 1) {
      const wait = Math.min(graceMs, this.#left());
      this.#timers.push(setTimeout(() => this.#finish(), wait));
    }
  }

  /** Stops, closes the sockets, then settles with the servers or `error`. */
  #finish(error?: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const timer of this.#timers) clearTimeout(timer);
    Promise.all(this.#sockets.map(([socket]) => closeSocket(socket))).then(
      () => {
        if (error === undefined) this.#done.resolve([...this.#found.values()]);
        else this.#done.reject(error);
      },
    );
  }
}

/** The sockets a search opens, for the links of `interfaces`. */
export function searchRoles(
  udpPort = DISCOVERY_PORT,
  interfaces?: readonly string[],
): Role[] {
  const { broadcasts, links } = localLinks(interfaces);
  const ipv4Targets = [...broadcasts, "127.0.0.1"];
  // The limited broadcast goes out by the default route only, to whatever
  // link that is: not when the links are chosen.
  if (interfaces === undefined) ipv4Targets.push("255.255.255.255");
  const unscoped = links.filter((link) => link.linkLocal === null);
  const roles: Role[] = [
    role("udp4", "0.0.0.0", 0, ipv4Targets, null, false),
    role(
      "udp6",
      "::",
      0,
      // Links without a link-local address are asked from here; answers
      // from their global addresses need no scope.
      ["::1", ...unscoped.map((link) => `${ALL_NODES}%${link.name}`)],
      null,
      false,
    ),
  ];
  for (const link of links) {
    if (link.linkLocal !== null) {
      roles.push(role(
        "udp6",
        `${link.linkLocal}%${link.name}`,
        0,
        [`${ALL_NODES}%${link.name}`],
        link.name,
        false,
      ));
    }
    roles.push(
      role("udp6", `${ALL_NODES}%${link.name}`, udpPort, [], link.name, true),
    );
  }
  // Bound to the broadcast addresses, not to 0.0.0.0: a socket of ours on
  // 0.0.0.0 at the discovery port would take the query to 127.0.0.1 away
  // from the server on this machine.
  for (const broadcast of broadcasts) {
    roles.push(role("udp4", broadcast, udpPort, [], null, true));
  }
  return roles;
}

function role(
  type: "udp4" | "udp6",
  address: string,
  port: number,
  targets: string[],
  scope: string | null,
  listens: boolean,
): Role {
  const spec = { type, address, port, reuse: listens, broadcast: !listens };
  return { spec, targets, scope, listens };
}
