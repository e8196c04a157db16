/**
 * The server's side of a session before any data flows: it takes the
 * manifest within the server's memory budget, decides on every entry,
 * sends the decisions, and checks what the client proves it already has.
 * Long loops give way to other sessions every few milliseconds, and the
 * whole phase has a deadline for the time spent waiting on the client.
 *
 * @module
 */

import { ConnectionClosedError } from "../net/byte_stream.ts";
import { type Channel, type Frame, whileBusy } from "../secure/channel.ts";
import {
  FrameType,
  MAX_ENTRIES,
  MAX_FRAME_PAYLOAD,
  MAX_MANIFEST_BYTES,
} from "../protocol/constants.ts";
import { decodeSenderMessage } from "../protocol/decode.ts";
import {
  type Decision,
  encodeMessage,
  type IfDifferent,
  type Match,
  type ReceiverMessage,
  type SenderMessage,
} from "../protocol/messages.ts";
import { EntryList } from "../protocol/entry_list.ts";
import { ManifestChecker } from "../protocol/paths.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { sanitize } from "../protocol/text.ts";
import { RemoteError } from "../common/errors.ts";
import type { FileStore } from "../store/file_store.ts";
import { estimateManifestBytes, type Reservation } from "./memory_budget.ts";
import { lower, type PeerName } from "./peer.ts";
import { Pacer } from "../common/pace.ts";
import { IndexSet } from "./index_set.ts";
import { formatBytes } from "../common/format.ts";

/** Raised when the server turns a whole session down, before any data. */
export class SessionRefusedError extends Error {
  /** Creates the error with a one-line message the client also sees. */
  constructor(message: string) {
    super(message);
    this.name = "SessionRefusedError";
  }
}

/** How long a session waits for room in the memory budget. */
export const BUDGET_WAIT_MS = 30_000;

const CHUNK_BUDGET = MAX_FRAME_PAYLOAD / 2;

/** Sends `message` on `channel`. */
export function send(
  channel: Channel,
  message: ReceiverMessage,
): Promise<void> {
  return channel.send(FrameType.Control, encodeMessage(message));
}

/**
 * The control message in `frame` from the sender, named `peer`; its
 * `error` ends the session.
 */
export function controlMessage(
  frame: Frame,
  peer: PeerName = "Client",
): SenderMessage {
  if (frame.type !== FrameType.Control) {
    throw new ProtocolError(`${peer} sent file data outside a file`);
  }
  const message = decodeSenderMessage(frame.payload, lower(peer));
  if (message.type === "error") {
    throw new RemoteError(`${peer} error: ${sanitize(message.message)}`);
  }
  return message;
}

/**
 * Decodes the manifest part in `frame`, checks its count and whether more
 * may follow, and adds its entries to `entries`; returns how many it added
 * and whether more follow. The decoded objects are garbage as soon as this
 * returns, before any wait: held across the paced checks, every part's
 * objects outlived collections of the young generation, which grew it for
 * good.
 */
function takeManifestPart(
  frame: Frame,
  entries: EntryList,
  maxEntries: number,
  peer: PeerName,
  asked: { ifDifferent?: IfDifferent },
): { added: number; more: boolean } {
  const message = controlMessage(frame, peer);
  if (message.type !== "manifest") {
    throw new ProtocolError(
      `${peer} sent a ${message.type} message before its manifest`,
    );
  }
  const count = entries.length + message.entries.length;
  if (count > MAX_ENTRIES) {
    throw new ProtocolError(`Manifest has more than ${MAX_ENTRIES} entries`);
  }
  if (count > maxEntries) {
    throw new SessionRefusedError(
      `The manifest has more than the ${maxEntries} entries this server takes in one session (its --max-entries)`,
    );
  }
  if (message.more && message.entries.length === 0) {
    throw new ProtocolError("Manifest part with no entries and more to come");
  }
  if (entries.length === 0) asked.ifDifferent = message.ifDifferent;
  for (const entry of message.entries) entries.push(entry);
  return { added: message.entries.length, more: message.more };
}

/**
 * Receives the whole manifest, checking it as it arrives and holding it
 * within `reservation`; refuses the session beyond `maxEntries`. What the
 * sender wants for a different file of the same name, given in its first
 * manifest message, goes to `asked`.
 */
export async function receiveManifest(
  channel: Channel,
  maxEntries: number,
  reservation: Reservation,
  peer: PeerName = "Client",
  asked: { ifDifferent?: IfDifferent } = {},
): Promise<EntryList> {
  const entries = new EntryList();
  const checker = new ManifestChecker();
  const pacer = new Pacer();
  let manifestBytes = 0;
  for (;;) {
    const frame = await channel.receive();
    if (frame === null) {
      throw new ConnectionClosedError(
        `${peer} disconnected before sending a manifest`,
      );
    }
    manifestBytes += frame.payload.length;
    if (manifestBytes > MAX_MANIFEST_BYTES) {
      throw new ProtocolError(
        `Manifest is larger than ${MAX_MANIFEST_BYTES} bytes`,
      );
    }
    const first = entries.length;
    const { added, more } = takeManifestPart(
      frame,
      entries,
      maxEntries,
      peer,
      asked,
    );
    const needed = estimateManifestBytes(frame.payload.length, added);
    if (reservation.bytes + needed > reservation.limit) {
      throw new SessionRefusedError(
        `The file list is larger than this server holds for one session (its --max-memory, ${
          formatBytes(reservation.limit)
        } for one): send fewer files at once, or start the server with a larger --max-memory`,
      );
    }
    const granted = await whileBusy(
      channel,
      () => reservation.grow(needed, BUDGET_WAIT_MS),
    );
    if (!granted) {
      throw new SessionRefusedError(
        "The server is busy: other sessions' file lists fill its memory (its --max-memory); try again later",
      );
    }
    for (let index = first; index < entries.length; index++) {
      checker.add({ path: entries.path(index), kind: entries.kind(index) });
      await pacer.pace();
    }
    if (!more) break;
  }
  reservation.settle();
  return entries;
}

/**
 * Decides on every entry in order, giving way to other sessions every few
 * milliseconds; `requested` is what the sender wants for a different file
 * of the same name. `then`, the work between the decisions and their
 * sending (checks, folders), runs under the same `wait` messages.
 */
export async function decideAll(
  channel: Channel,
  store: FileStore,
  entries: EntryList,
  requested?: IfDifferent,
  then?: (decisions: Decision[]) => Promise<void>,
): Promise<Decision[]> {
  const decisions: Decision[] = [];
  const pacer = new Pacer();
  await whileBusy(channel, async () => {
    for (const entry of entries) {
      decisions.push(await store.decide(entry, requested));
      await pacer.pace();
    }
    await then?.(decisions);
  });
  return decisions;
}

/** Sends the decisions in as many messages as their size needs. */
export async function sendDecisions(
  channel: Channel,
  decisions: readonly Decision[],
): Promise<void> {
  let start = 0;
  let budget = 0;
  for (let i = 0; i < decisions.length; i++) {
    const decision = decisions[i];
    const cost = decision.action === "refuse"
      ? 3 * decision.reason.length + 64
      : 64;
    if (budget + cost > CHUNK_BUDGET) {
      const items = decisions.slice(start, i);
      await send(channel, { type: "decisions", start, items, more: true });
      start = i;
      budget = 0;
    }
    budget += cost;
  }
  const items = decisions.slice(start);
  await send(channel, { type: "decisions", start, items, more: false });
  await channel.flush();
}

/** Whether `decision` asks the client to prove what it holds. */
export function asksForProof(decision: Decision): boolean {
  return decision.action === "compare" ||
    (decision.action === "send" && decision.offset > 0);
}

/** What became of one proof. */
export type ProofOutcome = "match" | "differs" | "unreadable";

/** The outcomes as stored, by entry index: 0 while none. */
const OUTCOMES = [undefined, "match", "differs", "unreadable"] as const;

/**
 * The outcome of each proven entry, in the order the proofs came, without
 * an object or a map entry for each.
 */
class ProofOutcomes implements Iterable<[number, ProofOutcome]> {
  #outcomes: Uint8Array;
  #order: number[] = [];

  constructor(count: number) {
    this.#outcomes = new Uint8Array(count);
  }

  get size(): number {
    return this.#order.length;
  }

  has(index: number): boolean {
    return this.#outcomes[index] > 0;
  }

  set(index: number, outcome: ProofOutcome): void {
    this.#outcomes[index] = OUTCOMES.indexOf(outcome);
    this.#order.push(index);
  }

  *[Symbol.iterator](): IterableIterator<[number, ProofOutcome]> {
    for (const index of this.#order) {
      yield [index, OUTCOMES[this.#outcomes[index]]!];
    }
  }
}

/**
 * Reads the client's proofs, one for each entry whose decision asked for
 * one, and checks each with `check`; then answers all of them at once
 * (answering while reading could fill both directions of the connection),
 * with the new name `savedAs` gives a matching file held under one.
 * Resolves to the outcome of each proven entry, in the order they came.
 */
export async function receiveProofs(
  channel: Channel,
  decisions: readonly Decision[],
  check: (index: number, sha256: string) => Promise<boolean>,
  peer: PeerName = "Client",
  savedAs: (index: number) => string | undefined = () => undefined,
): Promise<Iterable<[number, ProofOutcome]>> {
  const asked = new IndexSet(decisions.length);
  for (const [index, decision] of decisions.entries()) {
    if (asksForProof(decision)) asked.add(index);
  }
  const outcomes = new ProofOutcomes(decisions.length);
  if (asked.size === 0) return outcomes;
  const pacer = new Pacer();
  for (let more = true; more;) {
    const frame = await channel.receive();
    if (frame === null) {
      throw new ConnectionClosedError(
        `${peer} disconnected before sending its proofs`,
      );
    }
    const message = controlMessage(frame, peer);
    if (message.type === "wait") continue;
    if (message.type !== "proofs") {
      throw new ProtocolError(
        `${peer} sent a ${message.type} message instead of its proofs`,
      );
    }
    if (message.more && message.items.length === 0) {
      throw new ProtocolError("Proofs part with no items and more to come");
    }
    await whileBusy(channel, async () => {
      for (const { index, sha256 } of message.items) {
        if (!asked.has(index)) {
          throw new ProtocolError(
            outcomes.has(index)
              ? `${peer} sent a second proof for entry ${index}`
              : `${peer} sent a proof for entry ${index}, whose decision asked for none`,
          );
        }
        asked.delete(index);
        outcomes.set(
          index,
          sha256 === null
            ? "unreadable"
            : (await check(index, sha256))
            ? "match"
            : "differs",
        );
        await pacer.pace();
      }
    });
    more = message.more;
  }
  if (asked.size > 0) {
    throw new ProtocolError(`${peer} sent no proof for ${asked.size} entries`);
  }
  let items: Match[] = [];
  let budget = 0;
  let left = outcomes.size;
  for (const [index, outcome] of outcomes) {
    const match = outcome === "match";
    const name = match ? savedAs(index) : undefined;
    // A path (no control characters) takes at most 3 bytes of JSON per
    // UTF-16 unit, as in the manifest.
    const cost = 40 + (name === undefined ? 0 : 3 * name.length + 16);
    if (budget + cost > CHUNK_BUDGET) {
      await send(channel, { type: "matches", items, more: true });
      items = [];
      budget = 0;
    }
    items.push(
      name === undefined ? { index, match } : {
        index,
        match,
        savedAs: name,
      },
    );
    budget += cost;
    left--;
    if (left === 0) {
      await send(channel, { type: "matches", items, more: false });
    }
  }
  await channel.flush();
  return outcomes;
}
