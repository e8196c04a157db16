/**
 * Opens the secure channel on a fresh connection: both sides send their
 * hello, run SPAKE2 keyed by the short code, confirm the key in both
 * directions, and only then exchange frames, every one of them encrypted.
 *
 * @module
 */

import { hkdfSync } from "node:crypto";
import {
  BufferedReader,
  type ByteStream,
  ConnectionClosedError,
} from "../net/byte_stream.ts";
import { type Channel, PlainChannel, SecureChannel } from "./channel.ts";
import { FrameWriter } from "./frame_writer.ts";
import {
  CONFIRMATION_LENGTH,
  PakeError,
  type PakeKeys,
  SHARE_LENGTH,
  Spake2,
} from "./pake.ts";
import { RecordOpener, RecordSealer } from "./record.ts";
import type { Outcome } from "./guess_limiter.ts";
import {
  FrameType,
  HELLO_FLAG_SERVER_SENDS,
  HELLO_LENGTH,
  PROTOCOL_VERSION,
  Role,
} from "../protocol/constants.ts";
import { decodeHello, encodeHello } from "../protocol/hello.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";

/** Raised when the key exchange fails; the message says what to check. */
export class HandshakeError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "HandshakeError";
  }
}

/** Raised when the server turns the connection away for now. */
export class ServerBusyError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "ServerBusyError";
  }
}

/** Raised when the peer hangs up before it even says hello. */
export class NoHelloError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "NoHelloError";
  }
}

/**
 * Raised on the client when a server that said a valid hello drops the
 * connection before its key share and confirmation: its handshake limit
 * may have struck while the client waited in its guess limiter. Unlike a
 * wrong code, this is worth another attempt.
 */
export class KeyExchangeDroppedError extends ConnectionClosedError {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "KeyExchangeDroppedError";
  }
}

/** Whether `error` means that the peer closed or reset the connection. */
function isDrop(error: unknown): boolean {
  return error instanceof ConnectionClosedError ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.UnexpectedEof;
}

/** What a client prints when the server's key confirmation fails. */
export const WRONG_CODE_MESSAGE =
  "Wrong code, or not the server you meant: check the code and address the server printed";

const encoder = new TextEncoder();

/** SPAKE2 identities and associated data: they bind roles and version. */
const PAKE_OPTIONS = {
  idA: encoder.encode("deno-ft client"),
  idB: encoder.encode("deno-ft server"),
  aad: encoder.encode(`deno-ft protocol ${PROTOCOL_VERSION}`),
};

/** One key exchange attempt, as the server's guess limiter tracks it. */
export type AttemptGate = () => Promise<(outcome: Outcome) => void>;

/** How a side sets up its channel. */
export interface ChannelOptions {
  /** The local side's role. */
  role: Role;
  /**
   * SPAKE2's w, from the short code (see `codeToScalar`); while it is
   * still being derived, the connection and hellos go ahead.
   */
  password: bigint | Promise<bigint>;
  /**
   * Client only: its side of the key exchange, made from `password` with
   * {@link newPake} before it connected (used once), so that the server
   * counts the connection unauthenticated for less time.
   */
  pake?: Spake2;
  /**
   * Flush queued frames whenever a receive would block: right for a peer
   * whose writes answer what it reads, like the server.
   */
  flushBeforeBlocking?: boolean;
  /**
   * Server only: called once the client's key share has arrived, before
   * any answer; may delay, and learns whether the attempt succeeded.
   */
  gate?: AttemptGate;
  /**
   * Client only: called once its key share is sent, as it starts to wait
   * for the server's answer, which the server's guess limiter may hold
   * back (the server says nothing meanwhile); the function it returns is
   * called when the wait ends, however it ends.
   */
  awaitingAnswer?: () => () => void;
  /**
   * Which way the files go: true when the server sends them (it shares,
   * the client gets them). The peer's hello must say the same.
   */
  serverSends?: boolean;
}

/** Raised when the two sides want the files to go opposite ways. */
export class DirectionError extends Error {
  /** Creates the error with a one-line message saying what to do. */
  constructor(message: string) {
    super(message);
    this.name = "DirectionError";
  }
}

/** Says why the hellos disagree on the way the files go, and what to do. */
function directionMismatch(client: boolean, serverSends: boolean): string {
  if (client) {
    return serverSends
      ? "This server receives files rather than sharing them: send files to it, or have it started with --share to get files from it"
      : "This server shares files rather than receiving them: get them with --get";
  }
  return serverSends
    ? "Client wants to send files, but this server shares files (--share)"
    : "Client wants to get files, but this server receives them (start it with --share PATH to share files)";
}

function directionKey(
  sharedKey: Uint8Array,
  transcriptHash: Uint8Array,
  direction: string,
): Uint8Array {
  return new Uint8Array(
    hkdfSync(
      "sha256",
      sharedKey,
      transcriptHash,
      `deno-ft ${PROTOCOL_VERSION} ${direction}`,
      32,
    ),
  );
}

/** This protocol's SPAKE2 side for `role`: A for the client, B for the server. */
export function newPake(role: Role, password: bigint): Spake2 {
  return new Spake2(role === Role.Client ? "A" : "B", password, PAKE_OPTIONS);
}

/** The record keys of both directions of a connection. */
export interface RecordKeys {
  /** Seals what the client sends and opens what the server receives. */
  toServer: Uint8Array;
  /** Seals what the server sends and opens what the client receives. */
  toClient: Uint8Array;
}

/**
 * Derives the record keys from a finished key exchange; use them only once
 * the peer's key confirmation has been verified.
 */
export function deriveRecordKeys(keys: PakeKeys): RecordKeys {
  return {
    toServer: directionKey(
      keys.sharedKey,
      keys.transcriptHash,
      "client to server",
    ),
    toClient: directionKey(
      keys.sharedKey,
      keys.transcriptHash,
      "server to client",
    ),
  };
}

async function receiveHandshake(
  channel: PlainChannel,
  length: number,
  what: string,
): Promise<Uint8Array> {
  // Checked against the length before the payload is read, so that a
  // stranger cannot make the server buffer a large frame.
  const frame = await channel.receive(length);
  if (frame === null) {
    throw new ConnectionClosedError(
      `Connection closed during the handshake, before ${what}`,
    );
  }
  if (frame.type !== FrameType.Handshake) {
    throw new ProtocolError(`Expected ${what} in a handshake frame`);
  }
  if (frame.payload.length !== length) {
    throw new ProtocolError(
      `Handshake message ${what} has ${frame.payload.length} bytes, expected ${length}`,
    );
  }
  return frame.payload.slice();
}

/**
 * Exchanges hellos over `stream`, runs the key exchange and returns the
 * encrypted channel for the rest of the connection. Throws a ProtocolError
 * when the peer is not a compatible counterpart and a HandshakeError when
 * the codes differ.
 */
export async function establishChannel(
  stream: ByteStream,
  options: ChannelOptions,
): Promise<Channel> {
  const writer = new FrameWriter(stream);
  const reader = new BufferedReader(
    stream,
    options.flushBeforeBlocking ? () => writer.flush() : undefined,
  );
  const serverSends = options.serverSends ?? false;
  await writer.sendRaw(
    encodeHello(options.role, serverSends ? HELLO_FLAG_SERVER_SENDS : 0),
  );
  const client = options.role === Role.Client;
  let hello: Uint8Array | null;
  try {
    hello = await reader.readExact(HELLO_LENGTH, "the hello");
  } catch (error) {
    // A TLS server answers a clear hello with an alert and hangs up.
    if (client && error instanceof ConnectionClosedError) hello = null;
    else throw error;
  }
  if (hello === null) {
    // Not a dropped connection to retry: most likely the wrong program.
    throw new NoHelloError(
      client
        ? "Server closed the connection before its hello: does it use TLS (then add --tls), or is it another program?"
        : "Connection closed before the hello",
    );
  }
  const peerHello = decodeHello(
    hello,
    options.role === Role.Client ? Role.Server : Role.Client,
  );
  if (peerHello.busy) {
    throw new ServerBusyError(
      "Server is busy: it is at its limit of simultaneous connections",
    );
  }
  if (peerHello.serverSends !== serverSends) {
    throw new DirectionError(directionMismatch(client, serverSends));
  }
  const plain = new PlainChannel(stream, reader, writer);

  let keys;
  if (client) {
    const pake = options.pake ?? newPake(options.role, await options.password);
    let answer: Uint8Array;
    let answered = () => {};
    try {
      await writer.send(FrameType.Handshake, pake.share);
      await writer.flush();
      answered = options.awaitingAnswer?.() ?? answered;
      answer = await receiveHandshake(
        plain,
        SHARE_LENGTH + CONFIRMATION_LENGTH,
        "the server's key share",
      );
    } catch (error) {
      if (!isDrop(error)) throw error;
      throw new KeyExchangeDroppedError(
        "Server closed the connection during the key exchange, before its key share",
      );
    } finally {
      answered();
    }
    try {
      keys = pake.finish(answer.subarray(0, SHARE_LENGTH));
    } catch (error) {
      if (error instanceof PakeError) {
        throw new ProtocolError(
          `Invalid key share from server: ${error.message}`,
        );
      }
      throw error;
    }
    try {
      keys.verifyPeer(answer.subarray(SHARE_LENGTH));
    } catch (error) {
      if (error instanceof PakeError) {
        throw new HandshakeError(WRONG_CODE_MESSAGE);
      }
      throw error;
    }
    // Sent with the first encrypted frame: no extra round trip. A client
    // that gets files sends nothing first: it goes out alone.
    await writer.send(FrameType.Handshake, keys.confirmation);
    if (serverSends) await writer.flush();
  } else {
    const share = await receiveHandshake(
      plain,
      SHARE_LENGTH,
      "the client's key share",
    );
    const finishAttempt = options.gate ? await options.gate() : () => {};
    // An attempt that received the server's confirmation could test a
    // guess, and an invalid share cost the curve work all the same: both
    // count as failures. One dropped before either is merely abandoned.
    let outcome: Outcome = "abandoned";
    try {
      // The curve work starts only once the limiter lets the attempt go.
      const pake = newPake(options.role, await options.password);
      try {
        keys = pake.finish(share);
      } catch (error) {
        if (error instanceof PakeError) {
          outcome = "failure";
          throw new ProtocolError(
            `Invalid key share from client: ${error.message}`,
          );
        }
        throw error;
      }
      const answer = new Uint8Array(SHARE_LENGTH + CONFIRMATION_LENGTH);
      answer.set(pake.share, 0);
      answer.set(keys.confirmation, SHARE_LENGTH);
      await writer.send(FrameType.Handshake, answer);
      await writer.flush();
      outcome = "failure";
      let confirmation: Uint8Array;
      try {
        confirmation = await receiveHandshake(
          plain,
          CONFIRMATION_LENGTH,
          "the client's key confirmation",
        );
      } catch (error) {
        if (error instanceof ConnectionClosedError) {
          throw new HandshakeError(
            "Client left during key confirmation: it probably has the wrong code",
          );
        }
        throw error;
      }
      try {
        keys.verifyPeer(confirmation);
      } catch (error) {
        if (error instanceof PakeError) {
          throw new HandshakeError(
            "Client's key confirmation failed: wrong code",
          );
        }
        throw error;
      }
      outcome = "success";
    } finally {
      finishAttempt(outcome);
    }
  }

  const { toServer, toClient } = deriveRecordKeys(keys);
  await writer.startSealing(new RecordSealer(client ? toServer : toClient));
  return new SecureChannel(
    stream,
    reader,
    writer,
    new RecordOpener(client ? toClient : toServer),
  );
}
