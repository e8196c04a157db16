import assert from "node:assert/strict";
import fs from "node:fs";
import { fileErrorReason, publicMessage } from "../lib/common/errors.ts";

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error("Nothing was thrown");
}

Deno.test("messages for the peer keep the cause and drop the server's paths", () => {
  const long = `/tmp/${"y".repeat(300)}`;
  const node = thrown(() => fs.mkdirSync(long));
  assert.equal(publicMessage(node), "Name too long");
  const deno = thrown(() => Deno.mkdirSync(long));
  assert.equal(publicMessage(deno), "File name too long");
  for (const error of [node, deno]) {
    assert.ok(!publicMessage(error).includes("/tmp"), publicMessage(error));
  }
  assert.equal(
    publicMessage(new Error("ENOSPC: no space left on device, write")),
    "No space left on device",
  );
  assert.equal(publicMessage(new Error("plain words")), "plain words");
});

Deno.test("the common file errors of both APIs read the same", () => {
  const missing = "/nonexistent/file";
  assert.equal(
    fileErrorReason(thrown(() => fs.openSync(missing, "r"))),
    "no such file",
  );
  assert.equal(
    fileErrorReason(thrown(() => Deno.openSync(missing))),
    "no such file",
  );
});
