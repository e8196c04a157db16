/**
 * The hello: the eight bytes each side sends first (magic, version, role,
 * flags), and the checks of the one that arrives.
 *
 * @module
 */

import {
  HELLO_FLAG_BUSY,
  HELLO_FLAG_SERVER_SENDS,
  HELLO_LENGTH,
  MAGIC,
  PROTOCOL_VERSION,
  Role,
} from "./constants.ts";
import { ProtocolError } from "./protocol_error.ts";

/** What one side learns from the other's hello. */
export interface Hello {
  /** The peer's protocol version. */
  version: number;
  /** The peer's role. */
  role: Role;
  /** A server at its connection limit, about to close. */
  busy: boolean;
  /** The peer says the server sends the files (it shares them). */
  serverSends: boolean;
}

/** Encodes the hello a peer with `role` sends first. */
export function encodeHello(role: Role, flags = 0): Uint8Array {
  const bytes = new Uint8Array(HELLO_LENGTH);
  bytes.set(MAGIC, 0);
  new DataView(bytes.buffer).setUint16(4, PROTOCOL_VERSION);
  bytes[6] = role;
  bytes[7] = flags;
  return bytes;
}

/**
 * Decodes and checks a hello received from a peer that should have role
 * `expected`; throws {@link ProtocolError} on anything else.
 */
export function decodeHello(bytes: Uint8Array, expected: Role): Hello {
  if (bytes.length !== HELLO_LENGTH) {
    throw new ProtocolError("Truncated hello from peer");
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) {
      // 0x15 and 0x16 start TLS alert and handshake records.
      const tls = bytes[0] === 0x15 || bytes[0] === 0x16;
      throw new ProtocolError(
        tls
          ? "Peer speaks TLS, not this protocol in the clear: use TLS on both sides (--tls on the client, --cert and --key on the server)"
          : "Peer does not speak this file-transfer protocol (wrong magic bytes)",
      );
    }
  }
  const version = new DataView(bytes.buffer, bytes.byteOffset).getUint16(4);
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      `Peer speaks protocol version ${version}, this program speaks version ${PROTOCOL_VERSION}: use the same release on both sides`,
    );
  }
  const role = bytes[6];
  if (role !== expected) {
    const what = role === Role.Client
      ? "a client"
      : role === Role.Server
      ? "a server"
      : `an unknown role (${role})`;
    throw new ProtocolError(`Peer is ${what}, expected the other side`);
  }
  const known = HELLO_FLAG_SERVER_SENDS |
    (role === Role.Server ? HELLO_FLAG_BUSY : 0);
  if ((bytes[7] & ~known) !== 0) {
    throw new ProtocolError(`Unknown hello flags ${bytes[7]} from peer`);
  }
  return {
    version,
    role,
    busy: (bytes[7] & HELLO_FLAG_BUSY) !== 0,
    serverSends: (bytes[7] & HELLO_FLAG_SERVER_SENDS) !== 0,
  };
}
