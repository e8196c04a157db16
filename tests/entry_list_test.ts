import assert from "node:assert/strict";
import { EntryList } from "../lib/protocol/entry_list.ts";
import type { Entry } from "../lib/protocol/messages.ts";

function entry(i: number): Entry {
  return i % 10 === 0
    ? { path: `d${i}`, kind: "folder", size: 0, mode: 0o755, mtime: -i }
    : {
      path: `d${i - (i % 10)}/f${i}`,
      kind: "file",
      size: 2 ** 40 + i,
      mode: 0o7000 | i % 0o1000,
      mtime: 1_700_000_000_123 + i,
    };
}

Deno.test("an entry list gives back every entry as it was pushed, past its first capacity", () => {
  const list = new EntryList();
  for (let i = 0; i < 1000; i++) assert.equal(list.push(entry(i)), i);
  assert.equal(list.length, 1000);
  for (let i = 0; i < 1000; i++) {
    assert.deepEqual(list.get(i), entry(i));
    assert.equal(list.path(i), entry(i).path);
    assert.equal(list.kind(i), entry(i).kind);
    assert.equal(list.size(i), entry(i).size);
  }
  assert.deepEqual([...list], Array.from({ length: 1000 }, (_, i) => entry(i)));
  let bytes = 0;
  for (let i = 0; i < 1000; i++) bytes += entry(i).size;
  assert.deepEqual(list.fileTotals(), { files: 900, bytes });
  assert.deepEqual([...new EntryList([entry(1), entry(0)])], [
    entry(1),
    entry(0),
  ]);
});

Deno.test("an entry list refuses an index it does not hold", () => {
  const list = new EntryList([entry(0)]);
  for (const index of [-1, 1, 0.5, NaN]) {
    assert.throws(() => list.get(index), RangeError);
    assert.throws(() => list.path(index), RangeError);
  }
});
