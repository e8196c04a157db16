/**
 * The name of the other end of a transfer in what the programs say: the
 * receiver hears from the sender and the sender from the receiver, and
 * either may be the client or the server.
 *
 * @module
 */

/** Which end of the connection the other side is. */
export type PeerName = "Client" | "Server";

/** The end that is not `peer`, in lower case, as in "the client waited". */
export function ownEnd(peer: PeerName): "client" | "server" {
  return peer === "Client" ? "server" : "client";
}

/** `peer` in lower case, as in "from client". */
export function lower(peer: PeerName): "client" | "server" {
  return peer === "Client" ? "client" : "server";
}
