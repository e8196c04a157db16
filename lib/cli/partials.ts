/**
 * Data kept from interrupted transfers that nobody came back for: removed
 * once older than `--keep-partial`, on a server and on a client that gets
 * files alike.
 *
 * @module
 */

import { errorMessage } from "../common/errors.ts";
import { formatBytes } from "../common/format.ts";
import type { DestinationRoot } from "../store/destination_root.ts";
import { removeStalePartials } from "../store/partial_cleanup.ts";
import type { Output } from "./console_output.ts";

/** How often kept data is checked for its age while a server runs. */
const CLEANUP_INTERVAL_MS = 6 * 3600 * 1000;

/** The default of `--keep-partial`: a week. */
export const DEFAULT_KEEP_PARTIAL = "7d";

/**
 * Deletes kept data older than `maxAgeMs` now and, when `repeat`, every
 * few hours in the background; says so when it removed or could not
 * remove something.
 */
export function cleanPartials(
  root: DestinationRoot,
  maxAgeMs: number,
  output: Output,
  repeat: boolean,
): void {
  const warn = (message: string) => {
    output.event({ type: "warning", message });
    output.problem(`warning: ${message}`);
  };
  const sweep = () => {
    try {
      const result = removeStalePartials(
        root.staging,
        maxAgeMs,
        (id) => root.isStagedInUse(id),
      );
      if (result.removed > 0) {
        output.info(
          `Removed ${result.removed} unfinished files (${
            formatBytes(result.bytes)
          }) kept for longer than --keep-partial`,
        );
      }
      for (const error of result.errors) warn(error);
    } catch (error) {
      warn(`cannot clean up unfinished files: ${errorMessage(error)}`);
    }
  };
  sweep();
  if (repeat) Deno.unrefTimer(setInterval(sweep, CLEANUP_INTERVAL_MS));
}
