/**
 * Readers of the fields of a decoded JSON control message: each checks one
 * field's presence, type and range, and throws a {@link ProtocolError}
 * naming the field and the message it is in.
 *
 * @module
 */

import { MAX_ENTRIES, MAX_MESSAGE_CHARS } from "./constants.ts";
import { ProtocolError } from "./protocol_error.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Parses a control frame's payload as a JSON object. */
export function parseObject(payload: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(payload));
  } catch {
    throw new ProtocolError("Malformed control message from peer (not JSON)");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError(
      "Malformed control message from peer (not an object)",
    );
  }
  return value as Record<string, unknown>;
}

/** The member `name` of `object`, which must be its own. */
export function field(
  object: Record<string, unknown>,
  name: string,
  where: string,
): unknown {
  if (!Object.hasOwn(object, name)) {
    throw new ProtocolError(`Missing field ${name} in ${where}`);
  }
  return object[name];
}

/** The integer field `name`, from `min` to `max`. */
export function integer(
  object: Record<string, unknown>,
  name: string,
  where: string,
  min: number,
  max: number,
): number {
  const value = field(object, name, where);
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new ProtocolError(`Field ${name} in ${where} is not an integer`);
  }
  if (value < min) {
    throw new ProtocolError(
      `Field ${name} in ${where} is ${value}, below ${min}`,
    );
  }
  if (value > max) {
    throw new ProtocolError(
      `Field ${name} in ${where} is ${value}, beyond the limit of ${max}`,
    );
  }
  return value;
}

/** The string field `name`, of at most `maxChars` characters. */
export function text(
  object: Record<string, unknown>,
  name: string,
  where: string,
  maxChars = MAX_MESSAGE_CHARS,
): string {
  const value = field(object, name, where);
  if (typeof value !== "string") {
    throw new ProtocolError(`Field ${name} in ${where} is not a string`);
  }
  if (value.length > maxChars) {
    throw new ProtocolError(`Field ${name} in ${where} is too long`);
  }
  return value;
}

/** The boolean field `name`. */
export function boolean(
  object: Record<string, unknown>,
  name: string,
  where: string,
): boolean {
  const value = field(object, name, where);
  if (typeof value !== "boolean") {
    throw new ProtocolError(`Field ${name} in ${where} is not a boolean`);
  }
  return value;
}

/** The array field `name`. */
export function array(
  object: Record<string, unknown>,
  name: string,
  where: string,
): unknown[] {
  const value = field(object, name, where);
  if (!Array.isArray(value)) {
    throw new ProtocolError(`Field ${name} in ${where} is not an array`);
  }
  return value;
}

/** `value` as an object, such as one entry of an array field. */
export function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError(`${where} is not an object`);
  }
  return value as Record<string, unknown>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The field `name` as a lowercase hex SHA-256. */
export function sha256(
  object: Record<string, unknown>,
  name: string,
  where: string,
): string {
  const value = text(object, name, where, 64);
  if (!SHA256_HEX.test(value)) {
    throw new ProtocolError(
      `Field ${name} in ${where} is not a lowercase hex SHA-256`,
    );
  }
  return value;
}

/** The `index` field: an entry of a manifest of at most `MAX_ENTRIES`. */
export function index(object: Record<string, unknown>, where: string): number {
  return integer(object, "index", where, 0, MAX_ENTRIES - 1);
}
