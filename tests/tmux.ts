/**
 * Driving programs on a real terminal in tests, through tmux (Debian
 * package tmux); tests that need it say they are skipped without it.
 *
 * @module
 */

import { sleep } from "./helpers.ts";

/** Runs `tmux` with `args`; resolves to its stdout, throws on failure. */
export async function tmux(...args: string[]): Promise<string> {
  const output = await new Deno.Command("tmux", { args, stdin: "null" })
    .output();
  if (!output.success) {
    throw new Error(
      `tmux ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return new TextDecoder().decode(output.stdout);
}

/** Whether tmux can be run here. */
export async function hasTmux(): Promise<boolean> {
  try {
    return (await new Deno.Command("tmux", { args: ["-V"] }).output()).success;
  } catch {
    return false;
  }
}

/** The screen of `session` once it matches `pattern`. */
export async function waitForPane(
  session: string,
  pattern: RegExp,
  timeoutMs = 30_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let screen = "";
  while (Date.now() < deadline) {
    screen = await tmux("capture-pane", "-p", "-t", session);
    if (pattern.test(screen)) return screen;
    await sleep(50);
  }
  throw new Error(`The pane never showed ${pattern}:\n${screen}`);
}
