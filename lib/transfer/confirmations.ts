/**
 * The client's record of the files it sent and the server's word on each:
 * a `verified` with the same hash, or a `failed` with the server's reason,
 * until the server's summary.
 *
 * @module
 */

import type { Channel } from "../secure/channel.ts";
import type { ReceiverMessage } from "../protocol/messages.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { sanitize } from "../protocol/text.ts";
import type { EventSink } from "./events.ts";
import type { LocalEntries } from "../store/scan.ts";
import { lower, type PeerName } from "./peer.ts";

/** Tracks the files sent and waits for the server's word on each. */
export class Confirmations {
  /** The hash sent of each file awaiting its confirmation, by index. */
  #pending = new Map<number, string>();
  #entries: LocalEntries;
  #emit: EventSink;
  #peer: PeerName;

  /** Confirmations of `entries`, reported to `emit`. */
  constructor(
    entries: LocalEntries,
    emit: EventSink,
    peer: PeerName = "Server",
  ) {
    this.#peer = peer;
    this.#entries = entries;
    this.#emit = emit;
  }

  /** Notes that entry `index` was sent whole, hashing to `sha256`. */
  expect(index: number, sha256: string): void {
    this.#pending.set(index, sha256);
  }

  /** Handles messages until the server's summary; rejects on errors. */
  async run(
    channel: Channel,
    receive: (
      channel: Channel,
      what: string,
      peer: PeerName,
    ) => Promise<ReceiverMessage>,
  ): Promise<void> {
    for (;;) {
      const message = await receive(channel, "confirmations", this.#peer);
      switch (message.type) {
        case "verified": {
          const { index } = message;
          const sent = this.#take(index);
          const path = this.#entries.path(index);
          if (message.sha256 !== sent) {
            this.#emit({
              type: "file-failed",
              path,
              message: `${
                lower(this.#peer)
              }'s hash ${message.sha256} differs from the sent file's ${sent}`,
            }, index);
          } else {
            this.#emit({
              type: "file-verified",
              path,
              size: this.#entries.size(index),
              sha256: message.sha256,
            }, index);
          }
          break;
        }
        case "failed": {
          const { index } = message;
          this.#take(index);
          this.#emit({
            type: "file-failed",
            path: this.#entries.path(index),
            message: `${lower(this.#peer)}: ${sanitize(message.message)}`,
          }, index);
          break;
        }
        case "summary":
          if (this.#pending.size > 0) {
            throw new ProtocolError(
              `${this.#peer} ended the session without confirming ${this.#pending.size} files`,
            );
          }
          return;
        default:
          throw new ProtocolError(
            `${this.#peer} sent an unexpected ${message.type} message`,
          );
      }
    }
  }

  /** The hash sent of file `index`, which is no longer awaited. */
  #take(index: number): string {
    const sent = this.#pending.get(index);
    if (sent === undefined) {
      throw new ProtocolError(
        `${this.#peer} confirmed file ${index}, which is not awaiting confirmation`,
      );
    }
    this.#pending.delete(index);
    return sent;
  }
}
