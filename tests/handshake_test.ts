import assert from "node:assert/strict";
import {
  establishChannel,
  HandshakeError,
  WRONG_CODE_MESSAGE,
} from "../lib/secure/handshake.ts";
import { codeToScalar } from "../lib/secure/pake.ts";
import { encodeHello, FrameType, Role } from "../protocol.ts";
import { socketPair } from "./helpers.ts";

const right = codeToScalar("right-code-here");
const wrong = codeToScalar("wrong-code-here");

Deno.test("the same code gives an encrypted channel both ways", async () => {
  using pair = await socketPair();
  const outcomes: string[] = [];
  const serverSide = establishChannel(pair[1], {
    role: Role.Server,
    password: right,
    flushBeforeBlocking: true,
    gate: () => Promise.resolve((ok) => outcomes.push(ok)),
  });
  const client = await establishChannel(pair[0], {
    role: Role.Client,
    password: right,
  });
  // The client's key confirmation leaves with its first frame.
  await client.send(FrameType.Control, new Uint8Array([7, 8, 9]));
  await client.flush();
  const server = await serverSide;
  assert.deepEqual(outcomes, ["success"]);
  const echo = (async () => {
    const frame = await server.receive();
    await server.send(FrameType.Control, frame!.payload.slice());
    await server.receive();
  })();
  await client.send(FrameType.Control, new Uint8Array([7, 8, 9]));
  await client.flush();
  assert.deepEqual(
    (await client.receive())!.payload,
    new Uint8Array([7, 8, 9]),
  );
  client.close();
  await echo;
});

Deno.test("different codes fail on both sides, and the server's gate hears of it", async () => {
  using pair = await socketPair();
  const outcomes: string[] = [];
  const [client, server] = await Promise.allSettled([
    establishChannel(pair[0], { role: Role.Client, password: wrong }).catch(
      (error) => {
        pair[0].close();
        throw error;
      },
    ),
    establishChannel(pair[1], {
      role: Role.Server,
      password: right,
      flushBeforeBlocking: true,
      gate: () => Promise.resolve((ok) => outcomes.push(ok)),
    }),
  ]);
  assert.equal(client.status, "rejected");
  assert.ok(client.reason instanceof HandshakeError);
  assert.equal(client.reason.message, WRONG_CODE_MESSAGE);
  assert.equal(server.status, "rejected");
  assert.ok(server.reason instanceof HandshakeError);
  assert.match(server.reason.message, /wrong code/);
  assert.deepEqual(outcomes, ["failure"]);
});

Deno.test("a peer with the wrong role is refused before the key exchange", async () => {
  using pair = await socketPair();
  await pair[0].write(encodeHello(Role.Server));
  await assert.rejects(
    () => establishChannel(pair[1], { role: Role.Server, password: right }),
    /Peer is a server/,
  );
});
