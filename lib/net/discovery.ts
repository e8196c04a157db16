/**
 * LAN discovery: a client that has a code but no address finds the server
 * that carries the code, over UDP.
 *
 * A server runs a {@link DiscoveryResponder}: it answers queries for its
 * tag and announces itself at start and every 2 s. A client calls
 * {@link discover}: it asks by IPv4 broadcast (each interface's directed
 * broadcast address, 255.255.255.255), by IPv6 link-local multicast
 * (ff02::1 on each interface) and on this machine (127.0.0.1, ::1), again
 * every 200 ms, listens for announcements too, and returns soon after the
 * first answer.
 *
 * What is public: the tag, the number part of a generated code (4071 in
 * "4071-apple-river-stone"), becomes known to everyone on the LAN, like
 * magic-wormhole's nameplate. Nothing else about the code is ever sent:
 * the three words (30 bits) stay secret and are only ever tested online,
 * one key exchange at a time, against the server's guess limiter. A
 * custom code has no tag (`discoveryTag` gives null): its server is found
 * by address only. Discovery is not authenticated: anyone on the LAN can
 * answer, so a found server is only a place to try the key exchange, and
 * a false one costs one failed attempt; it can also hide servers by
 * answering first or by flooding, which on a LAN it could do anyway.
 *
 * The packets, all integers big-endian, UDP port {@link DISCOVERY_PORT}
 * (65432) unless the user chose another:
 *
 * Query, 13 bytes, client to the discovery port:
 *
 * | Offset | Size | Field                                          |
 * | -----: | ---: | ---------------------------------------------- |
 * |      0 |    4 | magic, ASCII "DFTD" (44 46 54 44)              |
 * |      4 |    2 | format version, 1                              |
 * |      6 |    1 | type, 1 = query                                |
 * |      7 |    2 | tag, 0 to 9999                                 |
 * |      9 |    4 | nonce, random per search, not 0                |
 *
 * Answer (unicast from the discovery port to the asker's address and port)
 * and announcement (to the discovery port, by broadcast or multicast),
 * 20 bytes:
 *
 * | Offset | Size | Field                                          |
 * | -----: | ---: | ---------------------------------------------- |
 * |      0 |    4 | magic, ASCII "DFTD" (44 46 54 44)              |
 * |      4 |    2 | format version, 1                              |
 * |      6 |    1 | type, 2 = answer or announcement               |
 * |      7 |    2 | tag, 0 to 9999, the server's                   |
 * |      9 |    4 | nonce: the query's; 0 in an announcement       |
 * |     13 |    4 | server id, random per server run, not 0        |
 * |     17 |    2 | TCP port of the server, 1 to 65535             |
 * |     19 |    1 | flags: bit 0 TLS, bit 1 the server shares files |
 * |        |      | (rather than receiving them), bits 2-7 zero    |
 *
 * A packet that breaks any of these rules (length, magic, version, type,
 * tag range, nonce 0 in a query, id 0, port 0, a reserved flag bit) is
 * ignored without a word, as are queries for another tag and, at the
 * client, answers for another tag or with another nonce (stale answers to
 * an earlier search) and announcements on the socket that asked. The
 * server id lets the client count a server once when it answers on
 * several addresses (IPv4 and IPv6, loopback and LAN). A responder sends
 * at most 64 answers in a burst and 64 a second, so that a flood of
 * queries from a forged source cannot make it flood someone else; a
 * client keeps at most 64 servers; every packet costs O(1).
 *
 * IPv6 link-local hosts come back with their scope ("fe80::1%eth0"), which
 * `Deno.connect({ hostname })` takes (see `discovery_sockets.ts` for how).
 * Both sides need `--allow-net` and `--allow-sys=networkInterfaces`.
 *
 * @module
 */

import type dgram from "node:dgram";
import { isTag } from "./discovery_packet.ts";
import {
  bindSocket,
  closeSocket,
  permissionProblem,
} from "./discovery_sockets.ts";
import {
  type DiscoverOptions,
  type FoundServer,
  type Role,
  Search,
  searchRoles,
} from "./discovery_search.ts";

export {
  DISCOVERY_PORT,
  FLAG_SHARES,
  FLAG_TLS,
  MAX_TAG,
} from "./discovery_packet.ts";
export {
  ANNOUNCE_INTERVAL_MS,
  DiscoveryResponder,
  type ResponderOptions,
} from "./discovery_responder.ts";
export {
  type DiscoverOptions,
  type FoundServer,
  GRACE_MS,
  MAX_SERVERS,
  RESEND_MS,
} from "./discovery_search.ts";

/** Raised when a search cannot run at all. */
export class DiscoveryError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "DiscoveryError";
  }
}

/**
 * Looks for servers with `tag` on the LAN and on this machine. Resolves
 * with those found, de-duplicated by server id, in order of arrival:
 * {@link GRACE_MS} after the first answer, or at the timeout with none.
 *
 * @throws {RangeError} for a tag out of range.
 * @throws {DiscoveryError} without the permissions or without any socket.
 */
export async function discover(
  tag: number,
  options: DiscoverOptions,
): Promise<FoundServer[]> {
  if (!isTag(tag)) throw new RangeError(`Tag ${tag} out of range`);
  options.signal?.throwIfAborted();
  const deadline = performance.now() + options.timeoutMs;
  const problem = permissionProblem();
  if (problem !== null) {
    throw new DiscoveryError(`Cannot look for servers on the LAN: ${problem}`);
  }
  const roles = searchRoles(options.udpPort, options.interfaces);
  const bound = await Promise.allSettled(
    roles.map((role) => bindSocket(role.spec)),
  );
  const sockets: [dgram.Socket, Role][] = [];
  bound.forEach((result, i) => {
    if (result.status === "fulfilled") sockets.push([result.value, roles[i]]);
  });
  const closeAll = () =>
    Promise.all(sockets.map(([socket]) => closeSocket(socket)));
  if (!sockets.some(([, role]) => !role.listens)) {
    await closeAll();
    const failure = bound.find((result) => result.status === "rejected");
    throw new DiscoveryError(
      `Cannot look for servers on the LAN: no UDP socket (${
        errorText((failure as PromiseRejectedResult | undefined)?.reason)
      })`,
    );
  }

  const search = new Search(tag, sockets, options, deadline);
  return await search.run();
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
