/**
 * A TCP proxy on loopback for tests that injects faults: it forwards every
 * connection to a target port and, following a per-connection plan, cuts
 * it after a number of bytes, stalls it (keeps the sockets open but stops
 * forwarding), or drops it at random chunks.
 *
 * @example
 * ```ts
 * await using proxy = new FaultProxy(serverPort, (index) =>
 *   index === 0 ? { kind: "cut", afterBytes: 100_000 } : { kind: "none" }
 * );
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
 * ```
 *
 * @module
 */

/**
 * What the proxy does to one connection.
 *
 * - `none`: forwards everything in both directions.
 * - `cut`: after `afterBytes` bytes from client to server have been
 *   forwarded, closes both sides.
 * - `stall`: after `afterBytes` bytes from client to server have been
 *   forwarded, stops forwarding in both directions but keeps both sockets
 *   open until the proxy is closed.
 * - `cut-down`: the same as `cut`, counting bytes from server to client
 *   (for a server that sends the files).
 * - `stall-down`: the same as `stall`, counting bytes from server to
 *   client.
 * - `random-drop`: for every chunk read in either direction, closes both
 *   sides instead of forwarding it with probability `probability`, drawn
 *   from a deterministic generator seeded by `seed`.
 */
export type Fault =
  | { kind: "none" }
  | { kind: "cut"; afterBytes: number }
  | { kind: "cut-down"; afterBytes: number }
  | { kind: "stall"; afterBytes: number }
  | { kind: "stall-down"; afterBytes: number }
  | { kind: "random-drop"; probability: number; seed: number };

/** Chooses the fault for a connection, numbered from 0 in accept order. */
export type FaultPlan = (connectionIndex: number) => Fault;

const BUFFER_SIZE = 256 * 1024;

/**
 * The mulberry32 generator: a small deterministic PRNG.
 *
 * @param seed Any number; only its low 32 bits count.
 * @returns A function giving numbers in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function tryClose(conn: Deno.Conn | null): void {
  if (conn === null) return;
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** One proxied connection: the client socket and, once open, the server's. */
class Link {
  readonly client: Deno.Conn;
  readonly fault: Fault;
  readonly random: () => number;
  server: Deno.Conn | null = null;
  /** Client-to-server bytes forwarded on this connection. */
  upBytes = 0;
  /** Server-to-client bytes forwarded on this connection. */
  downBytes = 0;
  closed = false;
  stalled = false;

  constructor(client: Deno.Conn, fault: Fault) {
    this.client = client;
    this.fault = fault;
    this.random = mulberry32(fault.kind === "random-drop" ? fault.seed : 0);
  }

  /** Whether the pumps should stop. */
  get halted(): boolean {
    return this.closed || this.stalled;
  }

  /** Closes both sides; safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    tryClose(this.client);
    tryClose(this.server);
  }
}

/**
 * A running fault-injecting proxy in front of `127.0.0.1:targetPort`.
 *
 * Errors on either side of a connection just end that connection; the
 * proxy never leaves a promise rejection unhandled.
 */
export class FaultProxy {
  /** The port on 127.0.0.1 that clients connect to. */
  readonly port: number;
  readonly #targetPort: number;
  readonly #plan: FaultPlan;
  readonly #listener: Deno.TcpListener;
  readonly #accepting: Promise<void>;
  readonly #links = new Set<Link>();
  readonly #tasks = new Set<Promise<void>>();
  #connections = 0;
  #bytesUpstream = 0;
  #bytesDownstream = 0;
  #closing = false;
  #paused: PromiseWithResolvers<void> | null = null;
  #pauseMark: number | null = null;
  #pauseDownMark: number | null = null;

  /**
   * Starts listening on 127.0.0.1 on a free port.
   *
   * @param targetPort The port on 127.0.0.1 to forward connections to.
   * @param plan Gives the fault for each accepted connection by its index.
   */
  constructor(targetPort: number, plan: FaultPlan) {
    this.#targetPort = targetPort;
    this.#plan = plan;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = this.#listener.addr.port;
    this.#accepting = this.#accept();
  }

  /** How many connections the proxy has accepted so far. */
  get connections(): number {
    return this.#connections;
  }

  /** Client-to-server bytes forwarded so far, over all connections. */
  get bytesUpstream(): number {
    return this.#bytesUpstream;
  }

  /** Server-to-client bytes forwarded so far, over all connections. */
  get bytesDownstream(): number {
    return this.#bytesDownstream;
  }

  async #accept(): Promise<void> {
    try {
      for await (const client of this.#listener) {
        const index = this.#connections++;
        if (this.#closing) {
          tryClose(client);
          continue;
        }
        const task: Promise<void> = this.#serve(client, index)
          .catch(() => {})
          .then(() => {
            this.#tasks.delete(task);
          });
        this.#tasks.add(task);
      }
    } catch {
      // The listener was closed.
    }
  }

  async #serve(client: Deno.Conn, index: number): Promise<void> {
    let fault: Fault;
    try {
      fault = this.#plan(index);
    } catch {
      tryClose(client);
      return;
    }
    const link = new Link(client, fault);
    this.#links.add(link);
    try {
      const server = await Deno.connect({
        hostname: "127.0.0.1",
        port: this.#targetPort,
      });
      link.server = server;
      if (link.closed) {
        // The proxy was closed while connecting.
        tryClose(server);
        return;
      }
    } catch {
      link.close();
      this.#links.delete(link);
      return;
    }
    if (
      (fault.kind === "cut" || fault.kind === "stall") && fault.afterBytes <= 0
    ) {
      if (fault.kind === "cut") link.close();
      else link.stalled = true;
    } else {
      await Promise.all([this.#pump(link, true), this.#pump(link, false)]);
    }
    if (!link.stalled) {
      // A stalled link keeps its sockets open until `close()`.
      link.close();
      this.#links.delete(link);
    }
  }

  /** Stops forwarding on every connection until {@link resume}. */
  pause(): void {
    this.#paused ??= Promise.withResolvers<void>();
  }

  /**
   * Forwards again what was held by {@link pause}, and drops a mark of
   * {@link pauseAfter} not reached yet.
   */
  resume(): void {
    this.#pauseMark = null;
    this.#pauseDownMark = null;
    this.#paused?.resolve();
    this.#paused = null;
  }

  /**
   * Pauses, as {@link pause} does, as soon as {@link bytesUpstream} reaches
   * `bytes`: the transfer stops there however fast it runs and however
   * late the test looks. It may pass the mark by one read (256 KiB).
   */
  pauseAfter(bytes: number): void {
    this.#pauseMark = bytes;
    this.#checkPauseMark();
  }

  /**
   * The same as {@link pauseAfter}, counting {@link bytesDownstream}: for
   * a server that sends the files.
   */
  pauseAfterDown(bytes: number): void {
    this.#pauseDownMark = bytes;
    this.#checkPauseMark();
  }

  /**
   * Closes both sides of every stalled connection, as a network that
   * comes back and resets them would; the others go on.
   */
  closeStalled(): void {
    for (const link of this.#links) {
      if (!link.stalled) continue;
      link.close();
      this.#links.delete(link);
    }
  }

  /** Whether forwarding is paused, by {@link pause} or {@link pauseAfter}. */
  get paused(): boolean {
    return this.#paused !== null;
  }

  #checkPauseMark(): void {
    if (this.#pauseMark !== null && this.#bytesUpstream >= this.#pauseMark) {
      this.#pauseMark = null;
      this.pause();
    }
    if (
      this.#pauseDownMark !== null &&
      this.#bytesDownstream >= this.#pauseDownMark
    ) {
      this.#pauseDownMark = null;
      this.pause();
    }
  }

  async #pump(link: Link, upstream: boolean): Promise<void> {
    const from = upstream ? link.client : link.server!;
    const to = upstream ? link.server! : link.client;
    const fault = link.fault;
    const buffer = new Uint8Array(BUFFER_SIZE);
    try {
      while (!link.halted) {
        const count = await from.read(buffer);
        // Holding a chunk read before a pause keeps the pause exact.
        if (this.#paused) await this.#paused.promise;
        if (link.halted) return;
        if (count === null) {
          await to.closeWrite();
          return;
        }
        if (
          fault.kind === "random-drop" && link.random() < fault.probability
        ) {
          link.close();
          return;
        }
        let length = count;
        let limitReached = false;
        if (upstream && (fault.kind === "cut" || fault.kind === "stall")) {
          const room = fault.afterBytes - link.upBytes;
          if (count >= room) {
            length = room;
            limitReached = true;
          }
        }
        if (
          !upstream &&
          (fault.kind === "cut-down" || fault.kind === "stall-down")
        ) {
          const room = fault.afterBytes - link.downBytes;
          if (count >= room) {
            length = room;
            limitReached = true;
          }
        }
        let written = 0;
        while (written < length) {
          const sent = await to.write(buffer.subarray(written, length));
          written += sent;
          if (upstream) {
            link.upBytes += sent;
            this.#bytesUpstream += sent;
          } else {
            link.downBytes += sent;
            this.#bytesDownstream += sent;
          }
        }
        this.#checkPauseMark();
        if (limitReached) {
          if (fault.kind === "stall" || fault.kind === "stall-down") {
            link.stalled = true;
          } else link.close();
          return;
        }
      }
    } catch {
      // Either side failed or was closed: end this connection.
      link.close();
    }
  }

  /**
   * Stops listening, closes every open socket (stalled ones included) and
   * waits until every connection's forwarding has ended. Safe to call more
   * than once.
   */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      try {
        this.#listener.close();
      } catch {
        // Already closed.
      }
    }
    await this.#accepting;
    for (const link of this.#links) link.close();
    this.#links.clear();
    // Paused pumps must wake up to see that their links are closed.
    this.resume();
    await Promise.all(this.#tasks);
  }

  /** Same as {@link FaultProxy.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
