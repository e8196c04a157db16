/**
 * The error every check of the wire format raises.
 *
 * @module
 */

/** Raised when a peer sends something the protocol does not allow. */
export class ProtocolError extends Error {
  /** Creates an error with a one-line message naming the problem. */
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}
