/**
 * The client's positional arguments: the server's address, if one is
 * given, and what to send. The rule is simple enough to say in one line
 * of help: a first argument that is a file or folder here (or `-`) means
 * every argument is something to send, and the server is found on the
 * network by its code; any other first argument is the server's address.
 *
 * @module
 */

import { type HostPort, parseHostPort } from "../net/address.ts";
import { UsageError } from "../common/errors.ts";
import { TransportError } from "../net/transport.ts";
import { commandFor } from "./cli.ts";

/** What the positional arguments ask for. */
export interface Targets {
  /** The server's address; undefined: find it on the network. */
  server?: HostPort;
  /** What to send (none with `--get`). */
  paths: string[];
  /**
   * The first argument was taken as the address although nothing of that
   * name is here either: said along with an address that does not work.
   */
  notAPathEither?: string;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads the positional arguments of the client, `get` for `--get` (which
 * takes at most an address). No argument at all sends main.txt to this
 * machine, the original demo.
 */
export function readTargets(
  positionals: readonly string[],
  get: boolean,
): Targets {
  if (get) {
    if (positionals.length > 1) {
      throw new UsageError(
        "--get takes at most the server's address (HOST[:PORT]); the files go to --dir",
      );
    }
    return positionals.length === 0
      ? { paths: [] }
      : { server: parseAddress(positionals[0], true), paths: [] };
  }
  if (positionals.length === 0) {
    return { server: parseHostPort("localhost"), paths: ["main.txt"] };
  }
  const [first, ...rest] = positionals;
  if (first === "-" || exists(first)) return { paths: [...positionals] };
  if (/[/\\]/.test(first) && !isUrl(first)) {
    throw new UsageError(
      `${first} is not a file or folder here, and a server's address has no slashes: check the path`,
    );
  }
  if (rest.length === 0) {
    throw new UsageError(
      `${first} is not a file or folder here; to send to a server at ${first}, name what to send too: ${
        commandFor("client")
      } ${first} FILE...`,
    );
  }
  return {
    server: parseAddress(first, false),
    paths: rest,
    notAPathEither: first,
  };
}

function isUrl(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
}

/**
 * The server's address `text`, which is not a URL: the tool speaks its
 * own protocol, so `http://HOST` is a mistake worth saying as such.
 */
function parseAddress(text: string, get: boolean): HostPort {
  if (isUrl(text)) {
    const host = text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").split("/")[0];
    throw new UsageError(
      `${text} is a URL; give the server's address as HOST or HOST:PORT, as in ${
        commandFor("client")
      } ${get ? "--get " : ""}${host || "192.168.1.20"}${
        get ? "" : " FILE..."
      }`,
    );
  }
  return parseHostPort(text);
}

/**
 * The error to show when connecting failed: the same, except that a
 * host name that cannot be found, and that is not a file or folder here
 * either, says both, since it may have been meant as a file.
 */
export function explainConnectFailure(
  targets: Targets,
  error: unknown,
): unknown {
  const name = targets.notAPathEither;
  if (
    name === undefined || !(error instanceof TransportError) ||
    !error.message.startsWith(`Cannot find host ${name}:`)
  ) {
    return error;
  }
  return new TransportError(
    `Cannot find host ${name}, and no file or folder here is called ${name} either: check the name (the first argument is the server's address unless it is a file or folder here)`,
  );
}
