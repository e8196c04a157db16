/**
 * The one line a server logs for a session that ended with an error.
 *
 * @module
 */

import { errorMessage } from "../common/errors.ts";
import { explainServerTls } from "../net/tls_errors.ts";
import { describeKept, keptPartOf } from "./kept_part.ts";

/**
 * Why a session ended: when the server itself ended the connection
 * (`ended` aborted with the reason: stopping, making room), that reason
 * rather than what the closed connection made its reads fail with ("Bad
 * resource ID", "operation canceled"), followed by what was kept; a TLS
 * failure (`tls`) with its cause and way out; else the error's message.
 */
export function sessionEnd(
  error: unknown,
  ended: AbortSignal,
  tls: boolean,
): string {
  if (ended.aborted) {
    const kept = keptPartOf(error);
    const reason = errorMessage(ended.reason);
    return kept === undefined ? reason : `${reason}; ${describeKept(kept)}`;
  }
  return (tls ? explainServerTls(error) : null) ?? errorMessage(error);
}
