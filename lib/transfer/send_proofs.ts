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
import type { EventSink } from "./events.ts";
import { IndexSet } from "./index_set.ts";
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
  /** Where the server holds a matching file, when not under its name. */
  savedAs?: string;
}

/** Bytes of a SHA-256. */
const HASH_BYTES = 32;

/**
 * The proofs of one session by entry index, without an object for each:
 * a session that finds a hundred thousand files already there proves them
 * all.
 */
export class ProofResults {
  /** Entries whose decision asked for a proof. */
  #asked: IndexSet;
  /** Those the server answered, and those it holds. */
  #answered: IndexSet;
  #matched: IndexSet;
  /** The hash proven of each entry, 32 bytes each, made at the first. */
  #hashes: Uint8Array | null = null;
  #unreadable = new Map<number, string>();
  #prefixes = new Map<number, Hash>();
  #savedAs = new Map<number, string>();

  /** Results for entries below `count`, none asked yet. */
  constructor(count: number) {
    this.#asked = new IndexSet(count);
    this.#answered = new IndexSet(count);
    this.#matched = new IndexSet(count);
  }

  /** Entries asked. */
  get size(): number {
    return this.#asked.size;
  }

  /** Entries answered. */
  get answered(): number {
    return this.#answered.size;
  }

  /** Records what the client proves of entry `index`. */
  set(index: number, proven: Omit<ProofResult, "match">): void {
    this.#asked.add(index);
    if (proven.unreadable !== undefined) {
      this.#unreadable.set(index, proven.unreadable);
    }
    if (proven.prefix !== undefined) this.#prefixes.set(index, proven.prefix);
    if (proven.sha256 !== null) {
      this.#hashes ??= new Uint8Array(this.#asked.capacity * HASH_BYTES);
      const at = index * HASH_BYTES;
      this.#hashes.subarray(at, at + HASH_BYTES).setFromHex(proven.sha256);
    }
  }

  /**
   * Records the server's answer for entry `index`; false when it asked for
   * none or answered it before.
   */
  answer(index: number, match: boolean, savedAs?: string): boolean {
    if (!this.#asked.has(index) || this.#answered.has(index)) return false;
    this.#answered.add(index);
    if (match && !this.#unreadable.has(index)) {
      this.#matched.add(index);
      if (savedAs !== undefined) this.#savedAs.set(index, savedAs);
    }
    return true;
  }

  /** Whether entry `index` was asked for. */
  has(index: number): boolean {
    return this.#asked.has(index);
  }

  /** What became of the proof of entry `index`, if it was asked for. */
  get(index: number): ProofResult | undefined {
    if (!this.#asked.has(index)) return undefined;
    const unreadable = this.#unreadable.get(index);
    const at = index * HASH_BYTES;
    const result: ProofResult = {
      match: this.#matched.has(index),
      sha256: unreadable === undefined
        ? this.#hashes!.subarray(at, at + HASH_BYTES).toHex()
        : null,
    };
    if (unreadable !== undefined) result.unreadable = unreadable;
    const prefix = this.#prefixes.get(index);
    if (prefix !== undefined) result.prefix = prefix;
    const savedAs = this.#savedAs.get(index);
    if (savedAs !== undefined) result.savedAs = savedAs;
    return result;
  }
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
 * Each file hashed is reported to `emit` first: a large one takes a while.
 */
export async function exchangeProofs(
  channel: Channel,
  entries: LocalEntries,
  decisions: readonly Decision[],
  known: (index: number) => Promise<string | undefined>,
  receive: () => Promise<ReceiverMessage>,
  peer: PeerName = "Server",
  emit: EventSink = () => {},
): Promise<ProofResults> {
  const results = new ProofResults(decisions.length);
  const count = decisions.filter(asksForProof).length;
  await whileBusy(channel, async () => {
    for (const [index, decision] of decisions.entries()) {
      if (!asksForProof(decision)) continue;
      const entry = entries.local(index);
      const result: Omit<ProofResult, "match"> = { sha256: null };
      const checking = (size: number) =>
        emit({
          type: "checking",
          path: entry.path,
          size,
          number: results.size + 1,
          count,
        });
      try {
        if (decision.action === "compare") {
          const confirmed = await known(index);
          if (confirmed === undefined) checking(entry.size);
          result.sha256 = confirmed ?? await hashFile(entry.source);
        } else if (decision.action === "send") {
          checking(decision.offset);
          const prefix = await hashOwnPrefix(entry, decision.offset);
          // A file shorter than what the server kept cannot match it.
          result.prefix = prefix ?? undefined;
          result.sha256 = prefix === null ? "0".repeat(64) : peekDigest(prefix);
        }
      } catch (error) {
        result.unreadable = fileErrorReason(error);
      }
      results.set(index, result);
    }
  });
  if (results.size === 0) return results;
  // The messages are made one at a time from the results, in index order.
  let items: Proof[] = [];
  let sent = 0;
  for (let index = 0; index < decisions.length; index++) {
    if (!results.has(index)) continue;
    items.push({ index, sha256: results.get(index)!.sha256 });
    sent++;
    if (items.length === PROOFS_PER_MESSAGE || sent === results.size) {
      await channel.send(
        FrameType.Control,
        encodeMessage({ type: "proofs", items, more: sent < results.size }),
      );
      items = [];
    }
  }
  await channel.flush();
  for (let more = true; more;) {
    const message = await receive();
    if (message.type !== "matches") {
      throw new ProtocolError(
        `${peer} sent a ${message.type} message instead of its answers to the proofs`,
      );
    }
    for (const { index, match, savedAs } of message.items) {
      if (!results.answer(index, match, savedAs)) {
        throw new ProtocolError(
          `${peer} answered a proof for entry ${index} ${
            results.has(index) ? "twice" : `that the ${ownEnd(peer)} never sent`
          }`,
        );
      }
    }
    more = message.more;
  }
  if (results.answered !== results.size) {
    throw new ProtocolError(
      `${peer} answered ${results.answered} of ${results.size} proofs`,
    );
  }
  return results;
}
