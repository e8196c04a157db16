/**
 * Turning away a connection the limits do not admit: with the busy hello,
 * or by closing it at once.
 *
 * @module
 */

import { formatHostPort } from "../net/address.ts";
import type { Admission, LogThrottle } from "../net/connection_limiter.ts";
import { HELLO_FLAG_BUSY, Role } from "../protocol/constants.ts";
import { encodeHello } from "../protocol/hello.ts";
import type { ServerEvent } from "./serve.ts";

/**
 * Refuses a connection the limits do not admit: with the busy hello, which
 * makes a client retry later, or, for a source that connects too fast, by
 * closing it at once. Says so in a log line that `throttle` allows.
 */
export async function refuse(
  conn: Deno.Conn,
  refusal: Extract<Admission<unknown>, { admitted: false }>,
  throttle: LogThrottle,
  report: (event: ServerEvent) => void,
  tls: boolean,
): Promise<void> {
  const remote = conn.remoteAddr as Deno.NetAddr;
  const line = throttle.line(`${refusal.rule} ${refusal.key}`, refusal.message);
  if (line !== null) {
    report({
      type: "warning",
      peer: formatHostPort(remote.hostname, remote.port),
      message: line,
    });
  }
  if (refusal.busy) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const write = conn.write(encodeHello(Role.Server, HELLO_FLAG_BUSY));
    // The client learns it from the closed connection instead.
    write.catch(() => {});
    // A new TCP socket takes 8 bytes at once, so only TLS, whose handshake
    // the peer can stall, needs the time limit. On a loaded machine the
    // timer could fire first when this loop stalled for a second, and the
    // close then dropped the hello unsent: the client, told nothing, took
    // the server for another program.
    await Promise.race([
      write.catch(() => {}),
      ...(tls
        ? [new Promise((resolve) => timer = setTimeout(resolve, 1000))]
        : []),
    ]);
    clearTimeout(timer);
  }
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
