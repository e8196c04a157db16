/**
 * The client's side of a session before any data flows: it sends the
 * manifest, receives the server's decisions and checks that each is one
 * the server may give; and the reading of the server's messages that the
 * later phases share.
 *
 * @module
 */

import { ConnectionClosedError } from "../net/byte_stream.ts";
import type { Channel } from "../secure/channel.ts";
import { FrameType, MAX_FRAME_PAYLOAD } from "../protocol/constants.ts";
import { decodeReceiverMessage } from "../protocol/decode.ts";
import {
  type Decision,
  encodeMessage,
  type Entry,
  type IfDifferent,
  type ReceiverMessage,
  type SenderMessage,
} from "../protocol/messages.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { quote, sanitize } from "../protocol/text.ts";
import { RemoteError } from "../common/errors.ts";
import type { LocalEntries } from "../store/scan.ts";
import { waitLimitOf } from "./client_limits.ts";
import { lower, ownEnd, type PeerName } from "./peer.ts";

// JSON of one entry is at most 3 UTF-8 bytes per UTF-16 unit; keep each
// manifest frame well below the frame limit.
const MANIFEST_CHUNK_BUDGET = MAX_FRAME_PAYLOAD / 2;

/** Sends one control message (queued: it goes out on the next flush). */
export function send(channel: Channel, message: SenderMessage): Promise<void> {
  return channel.send(FrameType.Control, encodeMessage(message));
}

/**
 * The next message from the server that is not a `wait`, counting each
 * `wait` against how long the client lets the server hash; `waitingFor`
 * names what the client waits for, for the error when the server closes.
 */
export async function receiveMessage(
  channel: Channel,
  waitingFor: string,
  peer: PeerName = "Server",
): Promise<ReceiverMessage> {
  const limit = waitLimitOf(channel);
  for (;;) {
    const message = await receiveAny(channel, waitingFor, peer);
    if (message.type !== "wait") {
      limit?.progressed();
      return message;
    }
    // The server is busy hashing: it said so to keep the line alive, but
    // not for longer than hashing these files can take.
    limit?.waited(waitingFor);
  }
}

async function receiveAny(
  channel: Channel,
  waitingFor: string,
  peer: PeerName,
): Promise<ReceiverMessage> {
  const frame = await channel.receive();
  if (frame === null) {
    throw new ConnectionClosedError(
      `${peer} closed the connection while the ${
        ownEnd(peer)
      } waited for ${waitingFor}`,
    );
  }
  if (frame.type !== FrameType.Control) {
    throw new ProtocolError(`${peer} sent a data frame`);
  }
  const message = decodeReceiverMessage(frame.payload, lower(peer));
  if (message.type === "error") {
    throw new RemoteError(`${peer} error: ${sanitize(message.message)}`);
  }
  return message;
}

/**
 * Sends the manifest of `entries`, in frames well below the limit, with
 * what the sender wants for a different file of the same name (in the
 * first frame).
 */
export async function sendManifest(
  channel: Channel,
  entries: LocalEntries,
  ifDifferent?: IfDifferent,
): Promise<void> {
  let chunk: Entry[] = [];
  let budget = 0;
  let first = true;
  // The chunk is let go before the wait for the channel: its objects are
  // garbage once encoded.
  const flushChunk = (more: boolean) => {
    const part = chunk;
    chunk = [];
    budget = 0;
    const asked = first && ifDifferent !== undefined ? { ifDifferent } : {};
    first = false;
    return send(channel, { type: "manifest", more, ...asked, entries: part });
  };
  for (const entry of entries) {
    const cost = 3 * entry.path.length + 100;
    if (budget + cost > MANIFEST_CHUNK_BUDGET) await flushChunk(true);
    chunk.push(entry);
    budget += cost;
  }
  await flushChunk(false);
  await channel.flush();
}

/** Receives the server's decisions, one for each of `count` entries. */
export async function receiveDecisions(
  channel: Channel,
  count: number,
  peer: PeerName = "Server",
): Promise<Decision[]> {
  const decisions: Decision[] = [];
  for (;;) {
    const message = await receiveMessage(
      channel,
      `the ${lower(peer)}'s decisions`,
      peer,
    );
    if (message.type !== "decisions") {
      throw new ProtocolError(
        `${peer} sent a ${message.type} message instead of decisions`,
      );
    }
    if (message.start !== decisions.length) {
      throw new ProtocolError(`${peer} sent decisions out of order`);
    }
    decisions.push(...message.items);
    if (decisions.length > count) {
      throw new ProtocolError(`${peer} sent more decisions than entries`);
    }
    if (message.more && message.items.length === 0) {
      throw new ProtocolError(`${peer} sent empty decisions with more to come`);
    }
    if (!message.more) break;
  }
  if (decisions.length !== count) {
    throw new ProtocolError(`${peer} sent fewer decisions than entries`);
  }
  return decisions;
}

/**
 * Checks that each decision is one the server may give for its entry,
 * before anything is hashed or sent.
 */
export function checkDecisions(
  entries: LocalEntries,
  decisions: readonly Decision[],
  peer: PeerName = "Server",
): void {
  for (const [index, decision] of decisions.entries()) {
    if (decision.action === "refuse") continue;
    const entry = entries.get(index);
    if (entry.kind === "folder" && decision.action !== "accept") {
      throw new ProtocolError(
        `${peer} answered ${decision.action} for folder ${quote(entry.path)}`,
      );
    }
    if (entry.kind === "file" && decision.action === "accept") {
      throw new ProtocolError(
        `${peer} answered accept for file ${quote(entry.path)}`,
      );
    }
    if (decision.action === "send" && decision.offset > entry.size) {
      throw new ProtocolError(
        `${peer} offered to resume ${
          quote(entry.path)
        } from offset ${decision.offset}, beyond its size`,
      );
    }
  }
}
