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
