import assert from "node:assert/strict";
import { ConnectionClosedError } from "../lib/net/byte_stream.ts";
import {
  KeyExchangeTimeoutError,
  ServerStalledError,
} from "../lib/transfer/client_limits.ts";
import {
  HandshakeError,
  KeyExchangeDroppedError,
  ServerBusyError,
} from "../lib/secure/handshake.ts";
import { IdleTimeoutError } from "../lib/net/idle.ts";
import {
  busyDelay,
  busyPatienceMs,
  describeLoss,
  isRetryable,
  retryDelay,
} from "../lib/transfer/retry.ts";
import { TransportError } from "../lib/net/transport.ts";
import { ProtocolError } from "../protocol.ts";
import { RemoteError } from "../lib/common/errors.ts";
import { socketPair } from "./helpers.ts";

Deno.test("lost or refused connections are retried; refusals by the server are not", () => {
  for (
    const error of [
      new ConnectionClosedError(),
      new IdleTimeoutError("No data from the peer for 30 s"),
      new ServerBusyError("busy"),
      new KeyExchangeDroppedError("dropped"),
      new KeyExchangeTimeoutError("slow"),
      new TransportError("Connection refused by x", true),
      new Deno.errors.ConnectionReset("reset"),
      new Deno.errors.BrokenPipe("pipe"),
    ]
  ) {
    assert.equal(isRetryable(error), true, error.name);
  }
  for (
    const error of [
      new TransportError("Cannot find host x: check the name"),
      new ProtocolError("Server sent a data frame"),
      new HandshakeError("Wrong code"),
      new ServerStalledError("Server kept saying wait"),
      new RemoteError("Server error: Not enough space on the server"),
      new Deno.errors.NotFound("gone"),
      new Error("anything else"),
    ]
  ) {
    assert.equal(isRetryable(error), false, error.name);
  }
});

Deno.test("the wait doubles up to 30 s, less at most a fifth", () => {
  for (
    const [retry, full] of [[1, 1000], [2, 2000], [5, 16_000], [9, 30_000]]
  ) {
    for (let i = 0; i < 50; i++) {
      const wait = retryDelay(retry, 1000);
      assert.ok(wait <= full && wait >= full * 0.8, `${retry}: ${wait}`);
    }
  }
});

Deno.test("a busy server is polled every half to one and a half bases, for as long as the retries would wait", () => {
  const waits = Array.from({ length: 200 }, () => busyDelay(1000));
  assert.ok(waits.every((wait) => wait >= 500 && wait <= 1500), `${waits}`);
  // Spread, not all at one end: clients started together come back apart.
  assert.ok(waits.some((wait) => wait < 800), `${waits}`);
  assert.ok(waits.some((wait) => wait > 1200), `${waits}`);
  assert.equal(busyPatienceMs(5, 1000), 31_000);
  assert.equal(busyPatienceMs(7, 1000), 91_000);
  assert.equal(busyPatienceMs(0, 1000), 0);
});

Deno.test("a broken connection is described in plain words", () => {
  assert.equal(
    describeLoss(new Deno.errors.BrokenPipe("Broken pipe (os error 32)")),
    "the connection broke",
  );
  assert.equal(
    describeLoss(new ConnectionClosedError("Connection closed by peer")),
    "Connection closed by peer",
  );
});

Deno.test("a read cut off by closing its own connection is a loss, retried", async () => {
  // What a read or write still pending gets when the client closes the
  // connection after another failure of it, as when the server stopped:
  // once it made a client quit with "operation canceled" (exit 1).
  using pair = await socketPair();
  const [client] = pair;
  const pending = client.read(new Uint8Array(16));
  client.close();
  const canceled = await pending.then(() => null, (error) => error);
  assert.ok(canceled instanceof Deno.errors.Interrupted, String(canceled));
  const after = await client.read(new Uint8Array(16)).then(
    () => null,
    (error) => error,
  );
  assert.ok(after instanceof Deno.errors.BadResource, String(after));
  for (const error of [canceled, after]) {
    assert.equal(isRetryable(error), true, error.name);
    assert.equal(describeLoss(error), "the connection closed");
  }
});
