/**
 * The wire format shared by `server.ts` and `client.ts`: constants, limits,
 * the hello, the frame header and the control messages, with strict
 * validation of everything that arrives from the network.
 *
 * This module does no I/O. `docs/PROTOCOL.md` specifies the same format in
 * prose, byte by byte. The parts live in `lib/protocol/`, one module per
 * concern; this module gathers them, so that a third party imports only
 * this one.
 *
 * @module
 */

export * from "./lib/protocol/constants.ts";
export * from "./lib/protocol/protocol_error.ts";
export * from "./lib/protocol/hello.ts";
export * from "./lib/protocol/frame.ts";
export * from "./lib/protocol/compressed.ts";
export * from "./lib/protocol/messages.ts";
export * from "./lib/protocol/text.ts";
export * from "./lib/protocol/paths.ts";
export * from "./lib/protocol/decode.ts";
