/**
 * The server side of LAN discovery: answers queries for its tag and
 * announces itself, as `discovery.ts` describes.
 *
 * @module
 */

import type dgram from "node:dgram";
import { type Families, isLoopback } from "./address.ts";
import {
  type Answer,
  decodeQuery,
  DISCOVERY_PORT,
  encodeAnswer,
  randomNonzeroU32,
} from "./discovery_packet.ts";
import {
  ALL_NODES,
  bindFailure,
  bindSocket,
  closeSocket,
  isLinkLocal,
  localLinks,
  permissionProblem,
  sendTo,
} from "./discovery_sockets.ts";

/** How often a responder announces itself. */
export const ANNOUNCE_INTERVAL_MS = 2_000;

/**
 * How many answers a responder sends in a burst, and per second after it:
 * a few clients each ask a few times a second, while a flood of queries
 * must not turn it into a flood of answers to a forged source.
 */
const ANSWER_BUDGET = 64;

/** What a responder announces and where. */
export interface ResponderOptions {
  /** The tag: the number part of the server's code (see `discoveryTag`). */
  tag: number;
  /** The server's TCP port. */
  tcpPort: number;
  /** `FLAG_TLS` and `FLAG_SHARES`. */
  flags: number;
  /** The UDP port; `DISCOVERY_PORT` unless given (tests use others). */
  udpPort?: number;
  /**
   * Only these interfaces (names as `Deno.networkInterfaces()` gives
   * them), for example only loopback for a server listening on
   * 127.0.0.1; all when not given.
   */
  interfaces?: readonly string[];
  /**
   * Whether the server listens on a loopback address only: then only
   * askers on this machine, by a loopback address, are answered (one that
   * asked by broadcast on the LAN would be told an address the server
   * does not listen on).
   */
  loopbackOnly?: boolean;
  /**
   * Whether to answer and announce over IPv4, over IPv6: only over the
   * families the server listens on, or a client that heard it over the
   * other would connect to an address where nothing listens. Both unless
   * given.
   */
  families?: Families;
  /** How often to announce; {@link ANNOUNCE_INTERVAL_MS} unless given. */
  announceMs?: number;
  /** Gets the one line saying discovery is off or works only in part. */
  onWarning?: (line: string) => void;
}

/**
 * Answers discovery queries that carry its tag, unicast to the asker, and
 * announces itself at start and every {@link ANNOUNCE_INTERVAL_MS}: by
 * IPv4 broadcast on each interface's directed broadcast address and by
 * IPv6 multicast to ff02::1 on each interface. Several responders on one
 * machine share the UDP port.
 */
export class DiscoveryResponder {
  #options: ResponderOptions & { udpPort: number } = {
    tag: 0,
    tcpPort: 0,
    flags: 0,
    udpPort: DISCOVERY_PORT,
  };
  #id = randomNonzeroU32();
  #v4: dgram.Socket | null = null;
  #v6: dgram.Socket | null = null;
  /** One socket per interface, bound to ff02::1%NAME. */
  #links = new Map<string, dgram.Socket>();
  #binding = new Set<string>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #tokens = ANSWER_BUDGET;
  #refilled = 0;
  #closed = false;

  /** This responder's random server id, sent in every answer. */
  get id(): number {
    return this.#id;
  }

  /**
   * Binds the UDP port and starts answering and announcing. Resolves
   * whether discovery runs at all; when it cannot run, or runs only over
   * one of IPv4 and IPv6 because the port is taken, `onWarning` gets one
   * line and the server goes on without it.
   *
   * @throws {RangeError} for a tag, port or flags that cannot be sent.
   */
  async start(options: ResponderOptions): Promise<boolean> {
    const { tag, tcpPort, flags, udpPort = DISCOVERY_PORT } = options;
    encodeAnswer({ tag, nonce: 0, id: this.#id, port: tcpPort, flags });
    this.#options = { ...options, udpPort };
    const warn = options.onWarning ?? (() => {});
    const problem = permissionProblem();
    if (problem !== null) {
      warn(`LAN discovery is off: ${problem}`);
      return false;
    }
    const { ipv4 = true, ipv6 = true } = options.families ?? {};
    const [v4, v6] = await Promise.allSettled([
      ipv4
        ? bindSocket({
          type: "udp4",
          address: "0.0.0.0",
          port: udpPort,
          reuse: true,
          broadcast: true,
        })
        : null,
      ipv6
        ? bindSocket({
          type: "udp6",
          address: "::",
          port: udpPort,
          reuse: true,
        })
        : null,
    ]);
    const v4Socket = v4.status === "fulfilled" ? v4.value : null;
    const v6Socket = v6.status === "fulfilled" ? v6.value : null;
    if (this.#closed) {
      for (const socket of [v4Socket, v6Socket]) {
        if (socket !== null) await closeSocket(socket);
      }
      return false;
    }
    if (v4Socket !== null) {
      this.#v4 = v4Socket;
      this.#listen(v4Socket, () => true);
    }
    if (v6Socket !== null) {
      this.#v6 = v6Socket;
      // Link-local askers are answered by the socket of their interface,
      // which knows the scope; this one cannot tell it.
      this.#listen(v6Socket, (address) => !isLinkLocal(address));
    }
    if (v4.status === "rejected") {
      const reason = bindFailure(v4.reason, udpPort);
      warn(
        v6Socket !== null
          ? `LAN discovery works over IPv6 only: ${reason} over IPv4`
          : `LAN discovery is off: ${reason}`,
      );
    } else if (v6.status === "rejected" && v4Socket === null) {
      warn(`LAN discovery is off: ${bindFailure(v6.reason, udpPort)}`);
    }
    if (v4Socket === null && v6Socket === null) return false;
    await this.#announce();
    this.#timer = setInterval(
      () => this.#announce(),
      options.announceMs ?? ANNOUNCE_INTERVAL_MS,
    );
    return true;
  }

  /** Stops answering and announcing; resolves once the sockets are closed. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    const sockets = [this.#v4, this.#v6, ...this.#links.values()];
    this.#v4 = this.#v6 = null;
    this.#links.clear();
    await Promise.all(
      sockets.map((socket) => socket === null ? null : closeSocket(socket)),
    );
  }

  /** Closes the responder (see {@link close}). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Sends the announcement on every link, binding the sockets of links
   * that appeared since the last time, closing those of links now gone.
   */
  async #announce(): Promise<void> {
    if (this.#closed) return;
    const { tag, tcpPort, flags, udpPort, interfaces } = this.#options;
    let links;
    try {
      links = localLinks(interfaces);
    } catch {
      return; // The interfaces cannot be read now; the next tick retries.
    }
    const bytes = encodeAnswer({
      tag,
      nonce: 0,
      id: this.#id,
      port: tcpPort,
      flags,
    });
    if (this.#v4 !== null) {
      for (const broadcast of links.broadcasts) {
        sendTo(this.#v4, bytes, udpPort, broadcast);
      }
    }
    if (this.#v6 === null) return;
    const names = new Set(links.links.map((link) => link.name));
    for (const [name, socket] of this.#links) {
      if (!names.has(name)) {
        this.#links.delete(name);
        closeSocket(socket);
      }
    }
    await Promise.all([...names].map((name) => this.#bindLink(name)));
    for (const [name, socket] of this.#links) {
      sendTo(socket, bytes, udpPort, `${ALL_NODES}%${name}`);
    }
  }

  /** Binds the socket of interface `name`, unless it has one. */
  async #bindLink(name: string): Promise<void> {
    if (this.#links.has(name) || this.#binding.has(name)) return;
    this.#binding.add(name);
    const group = `${ALL_NODES}%${name}`;
    try {
      const socket = await bindSocket({
        type: "udp6",
        address: group,
        port: this.#options.udpPort,
        reuse: true,
      });
      if (this.#closed) {
        await closeSocket(socket);
        return;
      }
      try {
        socket.addMembership(ALL_NODES, `::%${name}`);
      } catch {
        // Every interface is in the all-nodes group anyway.
      }
      this.#listen(socket, isLinkLocal);
      this.#links.set(name, socket);
    } catch {
      // No IPv6 multicast on this link; IPv4 and the other links remain.
    } finally {
      this.#binding.delete(name);
    }
  }

  /** Answers the queries for our tag that `socket` gets from `wanted` askers. */
  #listen(socket: dgram.Socket, wanted: (address: string) => boolean): void {
    socket.on("message", (bytes: Uint8Array, from: dgram.RemoteInfo) => {
      const query = decodeQuery(bytes);
      if (query === null || query.tag !== this.#options.tag) return;
      if (from.port === 0 || !wanted(from.address)) return;
      if (this.#options.loopbackOnly && !isLoopback(from.address)) {
        return;
      }
      if (!this.#spend()) return;
      const answer: Answer = {
        tag: query.tag,
        nonce: query.nonce,
        id: this.#id,
        port: this.#options.tcpPort,
        flags: this.#options.flags,
      };
      sendTo(socket, encodeAnswer(answer), from.port, from.address);
    });
  }

  /** Takes one answer from the budget; false when it is spent. */
  #spend(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(
      ANSWER_BUDGET,
      this.#tokens + (now - this.#refilled) * ANSWER_BUDGET / 1000,
    );
    this.#refilled = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}
