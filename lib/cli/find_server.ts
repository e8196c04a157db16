/**
 * Where the client connects: the address it was given, or the servers
 * with its code's number found on the local network.
 *
 * @module
 */

import { UsageError } from "../common/errors.ts";
import type { HostPort } from "../net/address.ts";
import type { Output } from "./console_output.ts";
import type { Targets } from "./targets.ts";

/**
 * The servers to try, in order: the one given, or those found on the
 * network that carry `code`'s number and move files the way `get` says.
 */
export function findServers(
  _output: Output,
  _code: string,
  targets: Targets,
  _get: boolean,
  _tls: boolean,
): Promise<HostPort[]> {
  if (targets.server !== undefined) return Promise.resolve([targets.server]);
  return Promise.reject(new UsageError("Discovery is not there yet"));
}
