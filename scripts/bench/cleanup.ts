/**
 * Cleanup that runs whatever happens: in `finally` blocks, and also when
 * the bench is interrupted with Ctrl+C or stopped with SIGTERM, which end a
 * Deno program without running its `finally` blocks.
 *
 * @module
 */

type Task = () => Promise<void> | void;

const tasks = new Set<Task>();
let installed = false;
let exiting = false;

/** A registered cleanup task. */
export interface Cleanup {
  /** Runs the task now, unless it already ran, and unregisters it. */
  run(): Promise<void>;
  /** Unregisters the task without running it. */
  forget(): void;
}

/** Registers `task` to run on interruption, or earlier through the result. */
export function onCleanup(task: Task): Cleanup {
  let done = false;
  const once: Task = async () => {
    if (done) return;
    done = true;
    tasks.delete(once);
    await task();
  };
  tasks.add(once);
  return {
    run: async () => await once(),
    forget: () => {
      done = true;
      tasks.delete(once);
    },
  };
}

/** Whether SIGINT or SIGTERM arrived: what runs now is being torn down. */
export function interrupted(): boolean {
  return exiting;
}

/** Runs every registered task, newest first, ignoring their errors. */
export async function runCleanups(): Promise<void> {
  for (const task of [...tasks].reverse()) {
    try {
      await task();
    } catch (error) {
      console.error(`cleanup: ${error}`);
    }
  }
}

/**
 * Makes SIGINT and SIGTERM run the registered tasks and then exit with
 * status 130; a second signal exits at once.
 */
export function installSignalCleanup(): void {
  if (installed) return;
  installed = true;
  const onSignal = () => {
    if (exiting) Deno.exit(130);
    exiting = true;
    console.error("\nbench: interrupted, cleaning up (again to quit at once)");
    runCleanups().finally(() => Deno.exit(130));
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, onSignal);
  }
}
