/**
 * The client's Ctrl-C: a line that says how to go on, and an exit status
 * of its own, rather than a bare `^C`. Nothing is lost by it: the server
 * keeps what arrived (and a download keeps its staged data), so the same
 * command resumes.
 *
 * @module
 */

import { EXIT_INTERRUPTED } from "./cli.ts";
import type { Output } from "./console_output.ts";

/** What the client says when interrupted. */
export const INTERRUPTED = "interrupted: run the same command again to resume";

/** Work to do before the program exits on an interrupt. */
export interface Interrupt {
  /** Runs `cleanup` (best effort) if the program is interrupted. */
  atExit(cleanup: () => void): void;
}

/**
 * On the first SIGINT (Ctrl-C) or SIGTERM: takes the progress line away,
 * says {@link INTERRUPTED} (an `error` event with `--json`), runs the
 * cleanups and exits with {@link EXIT_INTERRUPTED}.
 */
export function exitOnInterrupt(output: Output): Interrupt {
  const cleanups: (() => void)[] = [];
  const onSignal = () => {
    output.endProgress();
    output.event({ type: "error", message: INTERRUPTED, fatal: true });
    output.problem(INTERRUPTED, true);
    for (const cleanup of cleanups) {
      try {
        cleanup();
      } catch {
        // Exiting all the same.
      }
    }
    Deno.exit(EXIT_INTERRUPTED);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, onSignal);
    } catch {
      // Windows has no SIGTERM; Ctrl-C still arrives as SIGINT.
    }
  }
  return { atExit: (cleanup) => cleanups.push(cleanup) };
}
