/**
 * The client's proofs: for every entry whose decision asked for one, the
 * SHA-256 of its own bytes (the whole file for a `compare`, the first
 * `offset` bytes for a resumption), sent in one go; then the server's
 * answers, which say what is already there and what may resume. The
 * server never tells what it holds, only whether it matches.
 *
 * @module
 */

import { type Channel, whileBusy } from "../secure/channel.ts";
import { FrameType, MAX_FRAME_PAYLOAD } from "../protocol/constants.ts";
import {
  type Decision,
  encodeMessage,
  type Proof,
  type ReceiverMessage,
} from "../protocol/messages.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { fileErrorReason } from "../common/errors.ts";
import { type Hash, hashFile, hashPrefix, peekDigest } from "../store/hash.ts";
import {
  fileIdentity,
  type LocalEntries,
  type LocalEntry,
} from "../store/scan.ts";
import { ownEnd, type PeerName } from "./peer.ts";

/** Proof items per message: each takes under 90 bytes of JSON. */
const PROOFS_PER_MESSAGE = Math.floor(MAX_FRAME_PAYLOAD / 2 / 90);

/** What the sender found and the receiver answered for one entry. */
export interface ProofResult {
  /** Whether the server holds exactly the bytes proven. */
  match: boolean;
  /** The client's hash of what it proved; null when it could not read it. */
  sha256: string | null;
  /** Why it could not read the file, when it could not. */
  unreadable?: string;
  /** For a resumption, the hash of the prefix, to continue from. */
  prefix?: Hash;
}

/** Whether `decision` asks the client to prove what it holds. */
function asksForProof(decision: Decision): boolean {
  return decision.action === "compare" ||
    (decision.action === "send" && decision.offset > 0);
}

/**
 * The hash of the first `length` bytes of `entry`'s file, from the very
 * file that was scanned; null when it is shorter.
 */
async function hashOwnPrefix(
  entry: LocalEntry,
  length: number,
): Promise<Hash | null> {
  using file = await Deno.open(entry.source, { read: true });
  if (fileIdentity(await file.stat()) !== entry.identity) {
    throw new Deno.errors.NotFound("it was replaced by another file");
  }
  return await hashPrefix(file, length);
}

/**
 * Hashes what each asking decision wants proven, sends the proofs, and
 * returns the server's answer for each of those entries. `known` gives a
 * hash confirmed earlier in the run, to spare reading the file again.
 */
export async function exchangeProofs(
  channel: Channel,
  entries: LocalEntries,
  decisions: readonly Decision[],
  known: (index: number) => Promise<string | undefined>,
  receive: () => Promise<ReceiverMessage>,
  peer: PeerName = "Server",
): Promise<Map<number, ProofResult>> {
  const results = new Map<number, ProofResult>();
  const proofs: Proof[] = [];
  await whileBusy(channel, async () => {
    for (const [index, decision] of decisions.entries()) {
      if (!asksForProof(decision)) continue;
      const entry = entries.local(index);
      const result: ProofResult = { match: false, sha256: null };
      try {
        if (decision.action === "compare") {
          result.sha256 = await known(index) ?? await hashFile(entry.source);
        } else if (decision.action === "send") {
          const prefix = await hashOwnPrefix(entry, decision.offset);
          // A file shorter than what the server kept cannot match it.
          result.prefix = prefix ?? undefined;
          result.sha256 = prefix === null ? "0".repeat(64) : peekDigest(prefix);
        }
      } catch (error) {
        result.unreadable = fileErrorReason(error);
      }
      results.set(index, result);
      proofs.push({ index, sha256: result.sha256 });
    }
  });
  if (proofs.length === 0) return results;
  for (let at = 0; at < proofs.length; at += PROOFS_PER_MESSAGE) {
    const items = proofs.slice(at, at + PROOFS_PER_MESSAGE);
    const more = at + PROOFS_PER_MESSAGE < proofs.length;
    await channel.send(
      FrameType.Control,
      encodeMessage({ type: "proofs", items, more }),
    );
  }
  await channel.flush();
  const answered = new Set<number>();
  for (let more = true; more;) {
    const message = await receive();
    if (message.type !== "matches") {
      throw new ProtocolError(
        `${peer} sent a ${message.type} message instead of its answers to the proofs`,
      );
    }
    for (const { index, match } of message.items) {
      const result = results.get(index);
      if (result === undefined || answered.has(index)) {
        throw new ProtocolError(
          `${peer} answered a proof for entry ${index} ${
            result === undefined
              ? `that the ${ownEnd(peer)} never sent`
              : "twice"
          }`,
        );
      }
      result.match = match && result.sha256 !== null;
      answered.add(index);
    }
    more = message.more;
  }
  if (answered.size !== results.size) {
    throw new ProtocolError(
      `${peer} answered ${answered.size} of ${results.size} proofs`,
    );
  }
  return results;
}
