/**
 * Opens a channel on a fresh connection: both sides send their hello at
 * once, then check the other's before any frame is trusted.
 *
 * @module
 */

import {
  BufferedReader,
  type ByteStream,
  type Channel,
  ConnectionClosedError,
  FrameWriter,
  PlainChannel,
} from "./channel.ts";
import { decodeHello, encodeHello, HELLO_LENGTH, Role } from "../protocol.ts";

/** How a side sets up its channel. */
export interface ChannelOptions {
  /** The local side's role. */
  role: Role;
  /**
   * Flush queued frames whenever a receive would block: right for a peer
   * whose writes answer what it reads, like the server.
   */
  flushBeforeBlocking?: boolean;
}

/**
 * Exchanges hellos over `stream` and returns the channel for the rest of
 * the connection; throws a ProtocolError when the peer is not a compatible
 * counterpart.
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
  await writer.sendRaw(encodeHello(options.role));
  const hello = await reader.readExact(HELLO_LENGTH, "the hello");
  if (hello === null) {
    throw new ConnectionClosedError("Connection closed before the hello");
  }
  decodeHello(
    hello,
    options.role === Role.Sender ? Role.Receiver : Role.Sender,
  );
  return new PlainChannel(stream, reader, writer);
}
