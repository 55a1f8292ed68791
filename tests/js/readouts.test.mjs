// node --test tests/js: the frontend read-out math agrees with the Python validation rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chunkReadout, positionScale } from "../../js/readouts.js";

test("valid chunking reports the new frames per call", () => {
  const r = chunkReadout(16, 4, 4);
  assert.equal(r.ok, true);
  assert.match(r.text, /^8 new frames per decoder call/);
});

test("overlap x 2 >= chunk is flagged like the node's validation", () => {
  assert.equal(chunkReadout(8, 4, 0).ok, false);
  assert.equal(chunkReadout(9, 4, 0).ok, true);
});

test("crossfade longer than 2 x overlap is flagged", () => {
  assert.equal(chunkReadout(16, 2, 5).ok, false);
  assert.equal(chunkReadout(16, 2, 4).ok, true);
});

test("position scale is 1 up to the trained length", () => {
  assert.equal(positionScale(25, 25), 1);
  assert.equal(positionScale(50, 25), 2);
});
