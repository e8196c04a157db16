/**
 * A guessing attacker, run as its own process by the tests: from
 * 127.0.0.9, PARALLEL connections at a time, each sends the hello and a key
 * share, waits for the server's answer and hangs up, as a client with the
 * wrong code does; then it connects again, until it is killed. With
 * `invalid` it sends a share that is not a P-256 point instead.
 *
 *     deno run -A tests/guesser.ts PORT PARALLEL [wrong|invalid] [FROM]
 *
 * FROM is the local address to connect from, 127.0.0.9 by default.
 *
 * Prints one line per attempt: `answered` when the server answered the
 * share, `closed` when it hung up without answering.
 *
 * @module
 */

import {
  ANSWER_LENGTH,
  guessBytes,
  invalidShareBytes,
  OTHER_SOURCE,
  SourcedSocket,
} from "./loopback_source.ts";

async function guessForever(
  port: number,
  invalid: boolean,
  from: string,
): Promise<void> {
  for (;;) {
    const socket = new SourcedSocket(port, from);
    try {
      await socket.connected();
      socket.write(
        invalid ? invalidShareBytes() : guessBytes("wrong-guess-42"),
      );
      const received = await socket.receive(ANSWER_LENGTH);
      console.log(received.length >= ANSWER_LENGTH ? "answered" : "closed");
    } catch {
      console.log("closed");
      await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      socket.destroy();
    }
  }
}

if (import.meta.main) {
  const [port, parallel, mode = "wrong", from = OTHER_SOURCE] = Deno.args;
  await Promise.all(
    Array.from(
      { length: Number(parallel) },
      () => guessForever(Number(port), mode === "invalid", from),
    ),
  );
}
