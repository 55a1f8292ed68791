// node --test tests/js: the frontend read-out math agrees with the Python validation rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  chunkReadout, keyframeReadout, positionReadout, positionScale, windowCount, windowReadout,
} from "../../js/readouts.js";

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

test("keyframe read-out is (K-1)*k+1 and flags too few keyframes", () => {
  assert.equal(keyframeReadout(5, 4).frames, 17);
  assert.equal(keyframeReadout(17, 4).frames, 65);
  assert.equal(keyframeReadout(1, 4).ok, false);
  assert.equal(keyframeReadout(5, 0).ok, false);
});

test("window count matches plan_windows, tail window included", () => {
  // python: len(plan_windows(T, 25, 4)) for T = 25, 26, 65, 129 -> 1, 2, 11, 27
  assert.deepEqual([25, 26, 65, 129].map((t) => windowCount(t, 25, 4)), [1, 2, 11, 27]);
  assert.equal(windowCount(30, 7, 3), 9);
});

test("window read-out warns when the window covers the video or the stride skips frames", () => {
  assert.equal(windowReadout(20, 25, 4).ok, false);
  assert.equal(windowReadout(65, 25, 26).ok, false);
  assert.match(windowReadout(65, 25, 4).text, /11 windows/);
});

test("position read-out shows the scale past the trained length", () => {
  assert.match(positionReadout(50, 25, "yarn").text, /scale 2.00/);
  assert.match(positionReadout(14, 25, "yarn").text, /scale 1/);
});
