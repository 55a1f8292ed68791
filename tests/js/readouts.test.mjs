// node --test tests/js: the frontend read-out math agrees with the Python validation rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  chunkReadout, continueReadout, joinReadout, keyframeReadout, positionReadout, positionScale, samplerReadout,
  windowCount, windowReadout,
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

test("position read-out names the range when one MODEL samples clips of different lengths", () => {
  // the 97-frame example: clip 1 samples 25 frames, each continuation 4 + 24 = 28
  assert.equal(positionReadout(28, 25, "yarn", 25).text, "25-28 frames: yarn scale up to 1.12");
  assert.equal(positionReadout(25, 25, "yarn", 14).text, "14-25 frames: stock positions (scale 1)");
  assert.equal(positionReadout(65, 25, "yarn", 65).text, "65 frames: yarn scale 2.60");
});

test("continue read-out: frames so far -> after this clip, and the frames it samples", () => {
  const r = continueReadout(25, 4, 24);
  assert.equal(r.ok, true);
  assert.equal(r.frames, 49);
  assert.equal(r.text, "25 frames so far -> 49 (samples 28)");
  assert.equal(continueReadout(null, 4, 24).text, "+24 frames (samples 4 + 24 = 28)");
  // require_history: the overlap must be shorter than the video so far
  assert.equal(continueReadout(4, 4, 24).ok, false);
  assert.equal(continueReadout(5, 4, 24).ok, true);
  assert.equal(continueReadout(25, 0, 24).ok, false);
});

test("join read-out is video + clip - overlap, as join_clips", () => {
  const r = joinReadout(49, 28, 4);
  assert.equal(r.frames, 73);
  assert.equal(r.text, "49 + 24 new -> 73 frames");
  assert.equal(joinReadout(25, 4, 4).ok, false);  // no frames past the overlap
  assert.equal(joinReadout(3, 28, 4).ok, false);  // video shorter than the overlap
  assert.equal(joinReadout(null, 28, 4).ok, true);
});

test("a loop adds the first keyframe after the last: K*k+1 frames, one keyframe is enough", () => {
  // python: output_frame_count(KeyframeSettings(loop=True).stage_keyframes(K), k)
  assert.equal(keyframeReadout(4, 4, true).frames, 17);
  assert.match(keyframeReadout(4, 4, true).text, /4 keyframes \+ loop -> 17 frames .*ends on the first/);
  assert.equal(keyframeReadout(1, 8, true).frames, 9);
  assert.equal(keyframeReadout(1, 8, false).ok, false);
  assert.equal(keyframeReadout(4, 4, false).frames, 13);
});

test("the sampler read-out says what bidirectional costs and counts the loop's gap", () => {
  const forward = samplerReadout("segment", 5, 4, 2);
  assert.equal(forward.text, "4 gaps of 5 frames, 2 per call (10 frames)");
  const both = samplerReadout("segment", 5, 4, 2, "bidirectional");
  assert.equal(both.text, "4 gaps of 5 frames, 2 per call (10 frames); bidirectional: 2 model evaluations per step");
  assert.equal(both.callFrames, 5);
  assert.match(samplerReadout("whole", 6, 4, 1, "bidirectional").text, /^whole: 21 frames in one call; bidirectional/);
  assert.equal(samplerReadout("whole", 6, 4, 1, "sideways").ok, false);
});
