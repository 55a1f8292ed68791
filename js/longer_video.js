// Longer Video frontend extension: live read-outs drawn under the widgets of the pack's nodes, so
// users see what they would otherwise compute by hand (output frames of a keyframe stage, number
// of temporal windows, position scale, new frames per decoder call) and get a warning before
// queueing settings that cannot work. Drawn on the node, no extra widget, so saved workflows keep
// their layout. The frame count comes from the graph: the latent a sampler downstream samples.
import { app } from "../../scripts/app.js";
import {
  chunkReadout, keyframeReadout, positionReadout, windowReadout,
} from "./readouts.js";

const widgetValue = (node, name) => node.widgets?.find((w) => w.name === name)?.value;

function linkOf(graph, id) {
  if (id == null) return null;
  return graph.links instanceof Map ? graph.links.get(id) : graph.links?.[id];
}

function inputSource(node, name) {
  const input = node.inputs?.find((i) => i.name === name);
  const link = input && linkOf(node.graph, input.link);
  return link ? { node: node.graph.getNodeById(link.origin_id), slot: link.origin_slot } : null;
}

// Frames (or images) that `node`'s output `slot` carries, when the graph tells; null otherwise.
export function framesFrom(node, slot, depth = 0) {
  if (!node || depth > 32) return null;
  const follow = (name) => {
    const src = inputSource(node, name);
    return src ? framesFrom(src.node, src.slot, depth + 1) : null;
  };
  switch (node.comfyClass ?? node.type) {
    case "SVD_img2vid_Conditioning":
      return slot === 2 ? Number(widgetValue(node, "video_frames")) : null;
    case "LongerVideoKeyframeConditioning":
      return slot === 2 ? keyframeReadout(keyframeCount(node, depth), Number(widgetValue(node, "frames_between"))).frames ?? null : null;
    case "LoadImage":
      return 1;
    case "ImageBatch": {
      const a = follow("image1"), b = follow("image2");
      return a != null && b != null ? a + b : null;
    }
    default:
      for (const name of ["latent_image", "samples", "images"]) {
        if (node.inputs?.some((i) => i.name === name)) return follow(name);
      }
      return null;
  }
}

export function keyframeCount(node, depth = 0) {
  for (const name of ["keyframe_latents", "keyframes"]) {
    const src = inputSource(node, name);
    if (src) return framesFrom(src.node, src.slot, depth + 1);
  }
  return null;
}

// The frame count sampled with this MODEL: follow MODEL links down to a sampler's latent_image.
export function framesSampledWith(node) {
  const seen = new Set();
  const queue = [node];
  while (queue.length) {
    const current = queue.shift();
    if (!current || seen.has(current.id)) continue;
    seen.add(current.id);
    if (current !== node && current.inputs?.some((i) => i.name === "latent_image")) {
      const frames = framesFrom(current, 0);
      if (frames != null) return frames;
      continue;
    }
    for (const output of current.outputs ?? []) {
      if (output.type !== "MODEL") continue;
      for (const id of output.links ?? []) {
        const link = linkOf(current.graph, id);
        if (link) queue.push(current.graph.getNodeById(link.target_id));
      }
    }
  }
  return null;
}

// Windowed attention and FreeNoise share window_frames / stride_frames and the same read-out.
function windowsReadout(node) {
  return windowReadout(
    framesSampledWith(node), Number(widgetValue(node, "window_frames")), Number(widgetValue(node, "stride_frames")),
  );
}

const READOUTS = {
  LongerVideoChunkedDecode: (node) => chunkReadout(
    Number(widgetValue(node, "chunk_frames")),
    Number(widgetValue(node, "overlap_frames")),
    Number(widgetValue(node, "crossfade_frames")),
  ),
  LongerVideoKeyframeConditioning: (node) => keyframeReadout(
    keyframeCount(node), Number(widgetValue(node, "frames_between")),
  ),
  LongerVideoWindowedAttention: windowsReadout,
  LongerVideoFreeNoise: windowsReadout,
  LongerVideoTemporalPositions: (node) => positionReadout(
    framesSampledWith(node), Number(widgetValue(node, "trained_frames")), widgetValue(node, "mode"),
  ),
};

// The read-out line sits right under the last widget (a preview image may make the node taller).
// Before the widgets are laid out (a node's first frame, tops 0 / undefined) it sits at the bottom.
function readoutY(node) {
  const bottom = node.size[1] - 8;
  const widgets = node.widgets ?? [];
  const tops = widgets.map((w) => w.last_y ?? w.y);
  if (!widgets.length || !tops.every((top) => Number.isFinite(top) && top > 0)) return bottom;
  const heights = widgets.map((w) => w.computedHeight ?? w.computeSize?.(node.size[0])?.[1] ?? 20);
  return Math.min(Math.max(...tops.map((top, i) => top + heights[i])) + 18, bottom);
}

// Shrink the font (down to 9px) until a long warning fits the node's width.
function fittingFont(ctx, text, width) {
  let size = 12;
  ctx.font = `${size}px sans-serif`;
  while (size > 9 && ctx.measureText(text).width > width) {
    size -= 1;
    ctx.font = `${size}px sans-serif`;
  }
  return ctx.font;
}

app.registerExtension({
  name: "LongerVideo.Readouts",
  nodeCreated(node) {
    const compute = READOUTS[node.comfyClass];
    if (!compute) return;
    node.longerVideoReadout = () => compute(node);
    const drawOriginal = node.onDrawForeground;
    node.onDrawForeground = function (ctx) {
      drawOriginal?.apply(this, arguments);
      if (this.flags?.collapsed) return;
      const readout = compute(this);
      const text = (readout.ok ? "" : "\u26a0 ") + readout.text;
      ctx.save();
      ctx.font = fittingFont(ctx, text, this.size[0] - 20);
      ctx.fillStyle = readout.ok ? "#9c9" : "#f66";
      ctx.fillText(text, 10, readoutY(this));
      ctx.restore();
    };
    const computeSize = node.computeSize;
    node.computeSize = function () {
      const size = computeSize ? computeSize.apply(this, arguments) : [this.size[0], this.size[1]];
      return [size[0], size[1] + 20];  // room for the read-out line
    };
    node.setSize?.(node.computeSize());
  },
});
