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
import type { LocalEntry } from "../store/scan.ts";
import { lower, ownEnd, type PeerName } from "./peer.ts";

/** Tracks the files sent and waits for the server's word on each. */
export class Confirmations {
  #pending = new Map<number, { entry: LocalEntry; sha256: string }>();
  #entries: readonly LocalEntry[];
  #emit: EventSink;
  #peer: PeerName;
  #done = false;

  /** Confirmations of `entries`, reported to `emit`. */
  constructor(
    entries: readonly LocalEntry[],
    emit: EventSink,
    peer: PeerName = "Server",
  ) {
    this.#peer = peer;
    this.#entries = entries;
    this.#emit = emit;
  }

  /** Notes that entry `index` was sent whole, hashing to `sha256`. */
  expect(index: number, sha256: string): void {
    this.#pending.set(index, { entry: this.#entries[index], sha256 });
  }

  /**
   * Notes that every file was sent: from now on, and only now, the
   * server's summary may come.
   */
  done(): void {
    this.#done = true;
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
          const sent = this.#take(message.index);
          if (message.sha256 !== sent.sha256) {
            this.#emit({
              type: "file-failed",
              path: sent.entry.path,
              message: `${
                lower(this.#peer)
              }'s hash ${message.sha256} differs from the sent file's ${sent.sha256}`,
            });
          } else {
            this.#emit({
              type: "file-verified",
              path: sent.entry.path,
              size: sent.entry.size,
              sha256: message.sha256,
              ...(message.savedAs === undefined
                ? {}
                : { savedAs: message.savedAs }),
            });
          }
          break;
        }
        case "failed": {
          const sent = this.#take(message.index);
          this.#emit({
            type: "file-failed",
            path: sent.entry.path,
            message: `${lower(this.#peer)}: ${sanitize(message.message)}`,
          });
          break;
        }
        case "summary":
          // Before the sender is done, a summary would settle files still
          // to come as neither verified nor failed.
          if (!this.#done) {
            throw new ProtocolError(
              `${this.#peer} sent its summary before the ${
                ownEnd(this.#peer)
              } was done`,
            );
          }
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

  #take(index: number): { entry: LocalEntry; sha256: string } {
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
