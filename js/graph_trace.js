// What the read-outs need to know from the graph the user edits: how many frames or images a link
// carries, how many frames a MODEL is sampled with per call, and which of the pack's model patches
// sit on the same MODEL chain. Reads LiteGraph nodes and links only (no app, no DOM).

export const widgetValue = (node, name) => node.widgets?.find((w) => w.name === name)?.value;

function linkOf(graph, id) {
  if (id == null || !graph) return null;
  return graph.links instanceof Map ? graph.links.get(id) : graph.links?.[id];
}

function sourceOf(node, input) {
  const link = input && linkOf(node.graph, input.link);
  return link ? { node: node.graph.getNodeById(link.origin_id), slot: link.origin_slot } : null;
}

function inputSource(node, name) {
  return sourceOf(node, node.inputs?.find((i) => i.name === name));
}

function consumers(node, type) {
  const found = [];
  for (const output of node.outputs ?? []) {
    if (output.type !== type) continue;
    for (const id of output.links ?? []) {
      const link = linkOf(node.graph, id);
      const target = link && node.graph.getNodeById(link.target_id);
      if (target) found.push(target);
    }
  }
  return found;
}

const nodeClass = (node) => node.comfyClass ?? node.type;

// Image batching nodes: the old two-input ImageBatch (deprecated in ComfyUI 0.8, still in saved
// workflows) and BatchImagesNode, whose inputs grow as images are connected (images.image0, ...).
const IMAGE_BATCHERS = new Set(["ImageBatch", "BatchImagesNode"]);

function batchedImages(node, depth) {
  const linked = (node.inputs ?? []).filter((i) => i.type === "IMAGE" && i.link != null);
  if (!linked.length) return null;
  let total = 0;
  for (const input of linked) {
    const src = sourceOf(node, input);
    const count = src ? framesFrom(src.node, src.slot, depth + 1) : null;
    if (count == null) return null;
    total += count;
  }
  return total;
}

// Frames (or images) that `node`'s output `slot` carries, when the graph tells; null otherwise.
export function framesFrom(node, slot, depth = 0) {
  if (!node || depth > 32) return null;
  const follow = (name) => {
    const src = inputSource(node, name);
    return src ? framesFrom(src.node, src.slot, depth + 1) : null;
  };
  const type = nodeClass(node);
  if (IMAGE_BATCHERS.has(type)) return batchedImages(node, depth);
  switch (type) {
    case "SVD_img2vid_Conditioning":
      return slot === 2 ? Number(widgetValue(node, "video_frames")) : null;
    case "LongerVideoKeyframeConditioning": {
      const found = keyframeCount(node, depth);
      const keyframes = found == null ? null : found + (widgetValue(node, "loop") === true ? 1 : 0);
      const between = Number(widgetValue(node, "frames_between"));
      return slot === 2 && keyframes >= 2 && between >= 1 ? (keyframes - 1) * between + 1 : null;
    }
    case "LongerVideoContinue": {
      const clip = Number(widgetValue(node, "overlap_frames")) + Number(widgetValue(node, "new_frames"));
      return slot === 2 && clip >= 2 ? clip : null;
    }
    case "LongerVideoJoinClips":
      return slot === 0 ? joinedFrames(node, depth).frames : null;
    case "LoadImage":
      return 1;
    default:
      for (const name of ["latent_image", "samples", "images"]) {
        if (node.inputs?.some((i) => i.name === name)) return follow(name);
      }
      return null;
  }
}

// The frames reaching a Continue Video node: the video so far, as a LATENT or as IMAGE frames.
export function previousFrames(node, depth = 0) {
  for (const name of ["previous_latent", "previous_frames"]) {
    const src = inputSource(node, name);
    if (src) return framesFrom(src.node, src.slot, depth + 1);
  }
  return null;
}

// The Continue Video node whose latent a sampled clip comes from: up through the sampler's
// latent_image (or any node passing a latent on), as Join Clips' clip input is fed.
export function continuationOf(node, name = "clip", depth = 0) {
  let src = inputSource(node, name);
  for (let i = depth; src && i < 32; i++) {
    if (nodeClass(src.node) === "LongerVideoContinue") return src.node;
    const next = ["latent_image", "samples"].find((n) => src.node.inputs?.some((input) => input.name === n));
    src = next ? inputSource(src.node, next) : null;
  }
  return null;
}

// Join Clips: the video's frames, the clip's and the overlap (from the clip's Continue Video); the
// joined video has video + clip - overlap frames. Each is null when the graph does not tell.
export function joinedFrames(node, depth = 0) {
  const follow = (name) => {
    const src = inputSource(node, name);
    return src ? framesFrom(src.node, src.slot, depth + 1) : null;
  };
  const video = follow("video");
  const clip = follow("clip");
  const continuation = continuationOf(node, "clip", depth);
  const overlap = continuation ? Number(widgetValue(continuation, "overlap_frames")) : null;
  const known = video != null && clip != null && overlap != null;
  return { video, clip, overlap, frames: known && clip > overlap && video >= overlap ? video + clip - overlap : null };
}

// Keyframes reaching a Keyframe Conditioning node (its keyframe_latents or keyframes input).
export function keyframeCount(node, depth = 0) {
  for (const name of ["keyframe_latents", "keyframes"]) {
    const src = inputSource(node, name);
    if (src) return framesFrom(src.node, src.slot, depth + 1);
  }
  return null;
}

// The Keyframe Conditioning node that feeds a sampler's latent_image, if any.
export function keyframeStageOf(sampler) {
  const src = inputSource(sampler, "latent_image");
  return src && nodeClass(src.node) === "LongerVideoKeyframeConditioning" ? src.node : null;
}

// Frames one model call of this sampler sees: the whole latent, or one gap clip of k+1 frames for
// the Keyframe Sampler in segment mode (batched gaps are separate clips to the model).
function framesPerCall(sampler) {
  if (nodeClass(sampler) === "LongerVideoKeyframeSampler" && widgetValue(sampler, "mode") === "segment") {
    const stage = keyframeStageOf(sampler);
    const between = stage ? Number(widgetValue(stage, "frames_between")) : NaN;
    return between >= 1 ? between + 1 : null;
  }
  return framesFrom(sampler, 0);
}

// The frame counts sampled with this MODEL: follow MODEL links down to every sampler's
// latent_image. { fewest, most } over the samplers that tell, or null when none does (one MODEL
// can sample clips of different lengths: a first clip and its continuations).
export function framesSampledRange(node) {
  const seen = new Set();
  const queue = [node];
  const counts = [];
  while (queue.length) {
    const current = queue.shift();
    if (!current || seen.has(current.id)) continue;
    seen.add(current.id);
    if (current !== node && current.inputs?.some((i) => i.name === "latent_image")) {
      const frames = framesPerCall(current);
      if (frames != null) counts.push(frames);
      continue;
    }
    queue.push(...consumers(current, "MODEL"));
  }
  return counts.length ? { fewest: Math.min(...counts), most: Math.max(...counts) } : null;
}

// The most frames one model call samples with this MODEL (what windows and memory follow).
export function framesSampledWith(node) {
  return framesSampledRange(node)?.most ?? null;
}

// A node of `type` upstream of this one (through `model` inputs) or downstream of it (through
// MODEL outputs): patches that act on the same sampling run. Siblings on other branches do not.
export function onModelChain(node, type) {
  const seen = new Set([node.id]);
  for (let up = inputSource(node, "model")?.node; up && !seen.has(up.id); up = inputSource(up, "model")?.node) {
    if (nodeClass(up) === type) return up;
    seen.add(up.id);
  }
  const queue = consumers(node, "MODEL");
  while (queue.length) {
    const current = queue.shift();
    if (seen.has(current.id)) continue;
    if (nodeClass(current) === type) return current;
    seen.add(current.id);
    queue.push(...consumers(current, "MODEL"));
  }
  return null;
}
