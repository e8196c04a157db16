/**
 * What the client says while a connection attempt takes its time, so that
 * a host that drops the attempts is no silent wait.
 *
 * @module
 */

import type { Output } from "./console_output.ts";

/**
 * Tells the user on a terminal which address the client is still
 * connecting to; nothing in logs, with `--quiet` or with `--json`.
 */
export function connectingNotice(output: Output): (peer: string) => void {
  return (peer) => {
    if (output.mode !== "text" || !Deno.stderr.isTerminal()) return;
    output.problem(`connecting to ${peer}...`);
  };
}
