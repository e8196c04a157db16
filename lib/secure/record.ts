/**
 * The record layer of the secure channel: each frame travels as one
 * ChaCha20-Poly1305 record, with a per-direction key and a counter nonce,
 * so that a changed, replayed, reordered or dropped record fails to open.
 *
 * @module
 */

import {
  type CipherChaCha20Poly1305,
  createCipheriv,
  createDecipheriv,
} from "node:crypto";
import { type FrameType, MAX_FRAME_PAYLOAD } from "../protocol/constants.ts";
import { checkFrameType } from "../protocol/frame.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { releaseBuffer } from "../common/release.ts";

/** Bytes of the Poly1305 tag at the end of every record. */
export const TAG_LENGTH = 16;

/** Bytes of the length field before every record. */
export const RECORD_HEADER_LENGTH = 4;

/** Largest record body: the type byte, a full payload and the tag. */
export const MAX_RECORD_BODY: number = 1 + MAX_FRAME_PAYLOAD + TAG_LENGTH;

const ALGORITHM = "chacha20-poly1305";

/**
 * Writes the 12-byte nonce of record `counter` into `bytes`: 4 zero bytes,
 * then a u64. One buffer per direction is reused: the cipher copies it.
 */
function nonce(bytes: Uint8Array, counter: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 12);
  view.setUint32(4, Math.floor(counter / 2 ** 32));
  view.setUint32(8, counter >>> 0);
  return bytes;
}

function checkKey(key: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new RangeError("Record keys are 32 bytes");
  return key;
}

/** Encrypts the frames one side sends, in order. */
export class RecordSealer {
  #key: Uint8Array;
  #counter = 0;
  #nonce = new Uint8Array(12);

  /** Seals with `key` (32 bytes), starting at nonce counter 0. */
  constructor(key: Uint8Array) {
    this.#key = checkKey(key);
  }

  /**
   * Writes the record for a frame of `type` and `payload` into `target` at
   * `offset` and returns its length, header included.
   */
  seal(
    type: FrameType,
    payload: Uint8Array,
    target: Uint8Array,
    offset: number,
  ): number {
    const cipher = this.#start(payload, target, offset);
    const start = offset + RECORD_HEADER_LENGTH;
    // Type and payload side by side, encrypted in one call: each call costs
    // a Buffer and a trip into native code, more than a small copy.
    const text = target.subarray(start, start + 1 + payload.length);
    text[0] = type;
    text.set(payload, 1);
    text.set(cipher.update(text));
    cipher.final();
    target.set(cipher.getAuthTag(), start + 1 + payload.length);
    return RECORD_HEADER_LENGTH + 1 + payload.length + TAG_LENGTH;
  }

  /**
   * Seals a frame into three pieces to write in order: the length field
   * with the sealed type byte, the sealed payload and the tag. Large
   * payloads go out this way without a copy into a batch buffer.
   */
  sealApart(
    type: FrameType,
    payload: Uint8Array,
  ): [Uint8Array, Uint8Array, Uint8Array] {
    const head = new Uint8Array(RECORD_HEADER_LENGTH + 1);
    const cipher = this.#start(payload, head, 0);
    head.set(cipher.update(Uint8Array.of(type)), RECORD_HEADER_LENGTH);
    const body = cipher.update(payload);
    cipher.final();
    return [head, body, cipher.getAuthTag()];
  }

  /** Writes the length field at `offset` and starts this record's cipher. */
  #start(
    payload: Uint8Array,
    target: Uint8Array,
    offset: number,
  ): CipherChaCha20Poly1305 {
    if (payload.length > MAX_FRAME_PAYLOAD) {
      throw new RangeError(
        `Frame payload of ${payload.length} bytes is too big`,
      );
    }
    new DataView(target.buffer, target.byteOffset).setUint32(
      offset,
      1 + payload.length + TAG_LENGTH,
    );
    const cipher = createCipheriv(
      ALGORITHM,
      this.#key,
      nonce(this.#nonce, this.#counter++),
      { authTagLength: TAG_LENGTH },
    );
    // The length is authenticated too, so a record cannot be cut or grown.
    cipher.setAAD(target.subarray(offset, offset + RECORD_HEADER_LENGTH), {
      plaintextLength: 1 + payload.length,
    });
    return cipher;
  }
}

/** Reads a record's length field and checks it against the limits. */
export function readRecordLength(header: Uint8Array): number {
  const length = new DataView(header.buffer, header.byteOffset).getUint32(0);
  if (length < 1 + TAG_LENGTH || length > MAX_RECORD_BODY) {
    throw new ProtocolError(
      `Record of ${length} bytes from peer is outside the allowed 17 to ${MAX_RECORD_BODY}`,
    );
  }
  return length;
}

/** A record being opened piece by piece: see `RecordOpener.openInPieces`. */
export interface RecordInPieces {
  /** Bytes of the text still to pass to `update`. */
  textLeft(): number;
  /** Decrypts the next piece of the text; the piece may be reused after. */
  update(piece: Uint8Array): void;
  /** Checks the tag; the frame, or a ProtocolError. */
  finish(tag: Uint8Array): { type: FrameType; payload: Uint8Array };
}

/** Decrypts and authenticates the records the other side sent, in order. */
export class RecordOpener {
  #key: Uint8Array;
  #counter = 0;
  #nonce = new Uint8Array(12);

  /** Opens with `key` (32 bytes), starting at nonce counter 0. */
  constructor(key: Uint8Array) {
    this.#key = checkKey(key);
  }

  /**
   * Opens the record with length field `header` whose body, `length`
   * bytes, comes in pieces: `update` takes the text's pieces in order (all
   * but the tag's last {@link TAG_LENGTH} bytes), `finish` the tag, and
   * only `finish` hands out the frame, once the record is authenticated.
   * The body is never held whole: a server reading 50 clients' records
   * keeps one plain copy of each, not a ciphertext copy as well.
   */
  openInPieces(header: Uint8Array, length: number): RecordInPieces {
    const decipher = createDecipheriv(
      ALGORITHM,
      this.#key,
      nonce(this.#nonce, this.#counter++),
      { authTagLength: TAG_LENGTH },
    );
    const plain = new Uint8Array(length - TAG_LENGTH);
    decipher.setAAD(header, { plaintextLength: plain.length });
    let at = 0;
    return {
      textLeft: () => plain.length - at,
      update(piece: Uint8Array): void {
        const out = decipher.update(piece);
        plain.set(out, at);
        at += out.length;
        releaseBuffer(out);
      },
      finish(tag: Uint8Array): { type: FrameType; payload: Uint8Array } {
        decipher.setAuthTag(tag);
        try {
          decipher.final();
        } catch {
          throw new ProtocolError(
            "Record failed authentication: the connection was tampered with or corrupted",
          );
        }
        if (at !== plain.length) {
          throw new RangeError("Record text not read in full");
        }
        return { type: checkFrameType(plain[0]), payload: plain.subarray(1) };
      },
    };
  }

  /**
   * Opens the record with length field `header` and `body`; throws a
   * ProtocolError when it was changed, replayed, reordered or dropped.
   */
  open(
    header: Uint8Array,
    body: Uint8Array,
  ): { type: FrameType; payload: Uint8Array } {
    const decipher = createDecipheriv(
      ALGORITHM,
      this.#key,
      nonce(this.#nonce, this.#counter++),
      {
        authTagLength: TAG_LENGTH,
      },
    );
    const textLength = body.length - TAG_LENGTH;
    decipher.setAAD(header, { plaintextLength: textLength });
    decipher.setAuthTag(body.subarray(textLength));
    const plain = decipher.update(body.subarray(0, textLength));
    try {
      decipher.final();
    } catch {
      throw new ProtocolError(
        "Record failed authentication: the connection was tampered with or corrupted",
      );
    }
    // A plain Uint8Array view, not a node Buffer, like the clear channel's.
    const payload = new Uint8Array(
      plain.buffer,
      plain.byteOffset + 1,
      plain.length - 1,
    );
    return { type: checkFrameType(plain[0]), payload };
  }
}
