// Pure read-out math shared by the frontend extension and its tests (no DOM, no ComfyUI imports).
// Mirrors nodes/techniques/chunk_plan.py validation so users see problems before queueing.

export function chunkReadout(chunkFrames, overlapFrames, crossfadeFrames) {
  if (!(chunkFrames >= 1)) return { ok: false, text: "chunk_frames must be >= 1" };
  if (overlapFrames * 2 >= chunkFrames) {
    return { ok: false, text: `overlap ${overlapFrames} x 2 must be < chunk ${chunkFrames}` };
  }
  if (crossfadeFrames > overlapFrames * 2) {
    return { ok: false, text: `crossfade must be <= ${overlapFrames * 2} (2 x overlap)` };
  }
  const fresh = chunkFrames - 2 * overlapFrames;
  return { ok: true, text: `${fresh} new frames per decoder call, ${chunkFrames} decoded` };
}

export function positionScale(frames, trainedFrames) {
  return frames > trainedFrames ? frames / trainedFrames : 1;
}

// Mirrors nodes/techniques/keyframe_interpolation.py: K keyframes, k frames between -> (K-1)*k+1 frames;
// with loop the first keyframe comes again after the last: K*k+1 frames, ending on the first.
export function keyframeReadout(keyframes, framesBetween, loop = false) {
  if (!(framesBetween >= 1)) return { ok: false, text: "frames_between must be >= 1" };
  if (keyframes == null) {
    return { ok: true, text: loop ? `keyframes x ${framesBetween} + 1 frames (loop)` : `(keyframes-1) x ${framesBetween} + 1 frames` };
  }
  const stage = stageKeyframes(keyframes, loop);
  if (stage < 2) return { ok: false, text: `${keyframes} keyframe: need at least 2 (or loop)` };
  const frames = (stage - 1) * framesBetween + 1;
  const looped = loop ? " + loop" : "";
  const ends = loop ? ", ends on the first" : "";
  return { ok: true, frames, text: `${keyframes} keyframes${looped} -> ${frames} frames (gaps of ${framesBetween + 1}${ends})` };
}

// Keyframes a stage interpolates: loop adds the first keyframe after the last.
export function stageKeyframes(keyframes, loop) {
  return keyframes == null ? null : keyframes + (loop ? 1 : 0);
}

// Mirrors plan_windows in nodes/techniques/windows.py (tail window ends at the last frame).
export function windowCount(frames, windowFrames, strideFrames) {
  if (frames <= windowFrames) return 1;
  let count = Math.floor((frames - windowFrames) / strideFrames) + 1;
  if ((count - 1) * strideFrames + windowFrames < frames) count += 1;
  return count;
}

export function windowReadout(frames, windowFrames, strideFrames) {
  if (!(windowFrames >= 1)) return { ok: false, text: "window_frames must be >= 1" };
  if (!(strideFrames >= 1 && strideFrames <= windowFrames)) {
    return { ok: false, text: `stride ${strideFrames} must be 1..${windowFrames} (window)` };
  }
  if (frames == null) return { ok: true, text: `windows of ${windowFrames} every ${strideFrames} frames` };
  if (windowFrames >= frames) {
    return { ok: false, text: `window ${windowFrames} >= video ${frames} frames: no windows (stock attention)` };
  }
  return { ok: true, text: `${frames} frames -> ${windowCount(frames, windowFrames, strideFrames)} windows` };
}

// Keyframe Sampler: what one model call samples (memory follows it) and the direction's cost.
export function samplerReadout(mode, keyframes, framesBetween, segmentsPerBatch, direction = "forward") {
  if (direction !== "forward" && direction !== "bidirectional") {
    return { ok: false, text: "direction must be forward or bidirectional" };
  }
  const readout = samplerCallReadout(mode, keyframes, framesBetween, segmentsPerBatch);
  if (!readout.ok || direction === "forward") return readout;
  return { ...readout, text: `${readout.text}; bidirectional: 2 model evaluations per step` };
}

// K keyframes (with the loop's), k frames_between: segment mode samples the K-1 gaps as clips of
// k+1 frames, segmentsPerBatch gaps per call.
function samplerCallReadout(mode, keyframes, framesBetween, segmentsPerBatch) {
  if (mode !== "segment" && mode !== "whole") return { ok: false, text: `mode must be segment or whole` };
  if (!(segmentsPerBatch >= 1)) return { ok: false, text: "segments_per_batch must be >= 1" };
  if (Number.isNaN(framesBetween)) {  // no Keyframe Conditioning connected yet
    return { ok: true, text: mode === "whole" ? "whole: every frame in one call" : `segment: gap clips, ${segmentsPerBatch} per call` };
  }
  const stage = keyframeReadout(keyframes, framesBetween);
  if (!stage.ok) return stage;
  const clip = framesBetween + 1;
  if (mode === "whole") {
    return stage.frames == null
      ? { ok: true, text: "whole: every frame in one call" }
      : { ok: true, callFrames: stage.frames, text: `whole: ${stage.frames} frames in one call` };
  }
  if (stage.frames == null) {
    return { ok: true, callFrames: clip, text: `segment: gaps of ${clip} frames, ${segmentsPerBatch} per call` };
  }
  const gaps = keyframes - 1;
  const perCall = Math.min(segmentsPerBatch, gaps);
  return {
    ok: true, callFrames: clip, text: `${gaps} gaps of ${clip} frames, ${perCall} per call (${perCall * clip} frames)`,
  };
}

// FreeNoise reschedules noise for the windows the windowed attention uses: the two must agree.
export function windowAgreement(own, other, otherName) {
  if (!other) return null;
  if (own.window === other.window && own.stride === other.stride) return null;
  return {
    ok: false,
    text: `window/stride ${own.window}/${own.stride} differ from ${otherName}'s ${other.window}/${other.stride}`,
  };
}

// Temporal Positions: `frames` is the most frames one call samples with this MODEL, `fewest` the
// fewest (a first clip and its longer continuations share one MODEL); the scale follows each call.
export function positionReadout(frames, trainedFrames, mode, fewest = frames) {
  if (frames == null) return { ok: true, text: `scale = frames / ${trainedFrames} past ${trainedFrames} frames` };
  const scale = positionScale(frames, trainedFrames);
  const counted = fewest != null && fewest < frames ? `${fewest}-${frames} frames` : `${frames} frames`;
  if (mode === "none" || scale === 1) return { ok: true, text: `${counted}: stock positions (scale 1)` };
  const upTo = counted === `${frames} frames` ? "" : "up to ";
  return { ok: true, text: `${counted}: ${mode} scale ${upTo}${scale.toFixed(2)}` };
}

// Mirrors nodes/techniques/continuation.py: Continue Video samples overlap + new frames, starting
// from the last `overlap` frames of the `previous` frames so far (fewer than there are).
export function continueReadout(previous, overlap, newFrames) {
  if (!(overlap >= 1)) return { ok: false, text: "overlap_frames must be >= 1" };
  if (!(newFrames >= 1)) return { ok: false, text: "new_frames must be >= 1" };
  const clip = overlap + newFrames;
  if (previous == null) return { ok: true, clipFrames: clip, text: `+${newFrames} frames (samples ${overlap} + ${newFrames} = ${clip})` };
  if (overlap >= previous) {
    return { ok: false, text: `overlap ${overlap} must be < the ${previous} frames so far` };
  }
  return {
    ok: true, clipFrames: clip, frames: previous + newFrames,
    text: `${previous} frames so far -> ${previous + newFrames} (samples ${clip})`,
  };
}

// Mirrors join_clips: the video's frames, then the clip's frames past its overlap.
export function joinReadout(video, clip, overlap) {
  if (video == null || clip == null || overlap == null) return { ok: true, text: "video + the clip's new frames" };
  if (clip <= overlap) return { ok: false, text: `clip of ${clip} frames has no frames past its ${overlap} overlap` };
  if (video < overlap) return { ok: false, text: `video of ${video} frames is shorter than the ${overlap} overlap` };
  const added = clip - overlap;
  return { ok: true, frames: video + added, text: `${video} + ${added} new -> ${video + added} frames` };
}
