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

/**
 * Waits until the terminal of `session` no longer echoes what is typed, as
 * when a program has put it in raw mode to read a secret.
 */
export async function waitForNoEcho(
  session: string,
  timeoutMs = 30_000,
): Promise<void> {
  const tty =
    (await tmux("display-message", "-p", "-t", session, "#{pane_tty}"))
      .trim();
  const deadline = Date.now() + timeoutMs;
  let modes = "";
  while (Date.now() < deadline) {
    const output = await new Deno.Command("stty", {
      args: ["-F", tty, "-a"],
      stdin: "null",
    }).output();
    modes = new TextDecoder().decode(output.stdout);
    if (/(^|\s)-echo(\s|$)/.test(modes)) return;
    await sleep(20);
  }
  throw new Error(`The terminal of ${session} still echoes:\n${modes}`);
}

/** A detached tmux session running one command, killed on dispose. */
export class Pane implements AsyncDisposable {
  /** The session's name. */
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /**
   * Starts `command` (a shell command line) in a new session `name` of
   * `columns` by `rows`, in a terminal as a user has it: without the
   * `NO_COLOR` that CI sets for its own log (a test that wants it sets it
   * in `command`).
   */
  static async start(
    name: string,
    command: string,
    columns = 100,
    rows = 30,
  ): Promise<Pane> {
    const session = `${name}-${Deno.pid}`;
    await tmux(
      "new-session",
      "-d",
      "-s",
      session,
      "-x",
      String(columns),
      "-y",
      String(rows),
      `unset NO_COLOR; ${command}`,
    );
    return new Pane(session);
  }

  /** The screen now, one string per row as the terminal wrapped them. */
  async rows(): Promise<string[]> {
    return (await tmux("capture-pane", "-p", "-t", this.name)).split("\n");
  }

  /** The screen now, with wrapped rows joined into their lines. */
  screen(): Promise<string> {
    return tmux("capture-pane", "-p", "-J", "-t", this.name);
  }

  /** The screen once its lines match `pattern`. */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = "";
    while (Date.now() < deadline) {
      screen = await this.screen();
      if (pattern.test(screen)) return screen;
      await sleep(50);
    }
    throw new Error(`The pane never showed ${pattern}:\n${screen}`);
  }

  /** The screen once it stopped changing for a moment. */
  async settled(): Promise<string> {
    let screen = await this.screen();
    for (let tries = 0; tries < 100; tries++) {
      await sleep(200);
      const again = await this.screen();
      if (again === screen) return screen;
      screen = again;
    }
    return screen;
  }

  /** Makes the terminal `columns` wide. */
  async resize(columns: number, rows = 30): Promise<void> {
    await tmux(
      "resize-window",
      "-t",
      this.name,
      "-x",
      String(columns),
      "-y",
      String(rows),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await tmux("kill-session", "-t", this.name).catch(() => "");
  }
}
