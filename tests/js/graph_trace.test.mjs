// node --test tests/js: what the read-outs trace through a graph, on LiteGraph-shaped stand-ins
// (nodes with widgets, inputs holding link ids, outputs listing them; graph.links and getNodeById).
import { test } from "node:test";
import assert from "node:assert/strict";
import { framesFrom, framesSampledRange, joinedFrames, previousFrames } from "../../js/graph_trace.js";

const OUTPUTS = {
  ImageOnlyCheckpointLoader: ["MODEL", "CLIP_VISION", "VAE"],
  SVD_img2vid_Conditioning: ["CONDITIONING", "CONDITIONING", "LATENT"],
  LongerVideoTemporalPositions: ["MODEL"],
  KSampler: ["LATENT"],
  LongerVideoContinue: ["CONDITIONING", "CONDITIONING", "LATENT"],
  LongerVideoJoinClips: ["LATENT"],
  LongerVideoKeyframeConditioning: ["CONDITIONING", "CONDITIONING", "LATENT"],
};
const INPUTS = {
  SVD_img2vid_Conditioning: [],
  LongerVideoTemporalPositions: ["model"],
  KSampler: ["model", "positive", "negative", "latent_image"],
  LongerVideoContinue: ["previous_latent", "previous_frames"],
  LongerVideoJoinClips: ["video", "clip"],
  LongerVideoKeyframeConditioning: ["keyframes", "keyframe_latents"],
};

function makeGraph() {
  const nodes = new Map();
  const links = new Map();
  const graph = { links, getNodeById: (id) => nodes.get(id) };
  return {
    graph,
    add(type, widgets = {}) {
      const node = {
        id: nodes.size + 1, comfyClass: type, graph,
        widgets: Object.entries(widgets).map(([name, value]) => ({ name, value })),
        inputs: (INPUTS[type] ?? []).map((name) => ({ name, link: null })),
        outputs: (OUTPUTS[type] ?? []).map((type) => ({ type, links: [] })),
      };
      nodes.set(node.id, node);
      return node;
    },
    connect(source, slot, target, name) {
      const id = links.size + 1;
      links.set(id, { id, origin_id: source.id, origin_slot: slot, target_id: target.id });
      source.outputs[slot].links.push(id);
      target.inputs.find((i) => i.name === name).link = id;
    },
  };
}

// The 97-frame example's shape: one MODEL (through Temporal Positions) samples a 25-frame first
// clip and 4 + 24-frame continuations, each joined onto the video so far.
function continuedVideo(clips) {
  const g = makeGraph();
  const loader = g.add("ImageOnlyCheckpointLoader");
  const positions = g.add("LongerVideoTemporalPositions", { mode: "yarn", trained_frames: 25 });
  g.connect(loader, 0, positions, "model");
  const first = g.add("SVD_img2vid_Conditioning", { video_frames: 25 });
  const sampler = g.add("KSampler");
  g.connect(positions, 0, sampler, "model");
  g.connect(first, 2, sampler, "latent_image");
  let video = sampler;
  const steps = [];
  for (let i = 0; i < clips; i++) {
    const cont = g.add("LongerVideoContinue", { overlap_frames: 4, new_frames: 24 });
    g.connect(video, 0, cont, "previous_latent");
    const clipSampler = g.add("KSampler");
    g.connect(positions, 0, clipSampler, "model");
    g.connect(cont, 2, clipSampler, "latent_image");
    const join = g.add("LongerVideoJoinClips", { crossfade: true });
    g.connect(video, 0, join, "video");
    g.connect(clipSampler, 0, join, "clip");
    steps.push({ cont, join });
    video = join;
  }
  return { positions, steps, video };
}

test("continuations and joins carry the frame count down the graph: 25 -> 49 -> 73 -> 97", () => {
  const { steps, video } = continuedVideo(3);
  assert.deepEqual(steps.map(({ cont }) => previousFrames(cont)), [25, 49, 73]);
  assert.deepEqual(steps.map(({ cont }) => framesFrom(cont, 2)), [28, 28, 28]);
  assert.deepEqual(joinedFrames(steps[0].join), { video: 25, clip: 28, overlap: 4, frames: 49 });
  assert.equal(framesFrom(video, 0), 97);
});

test("a MODEL shared by a first clip and its continuations samples 25 to 28 frames per call", () => {
  const { positions } = continuedVideo(3);
  assert.deepEqual(framesSampledRange(positions), { fewest: 25, most: 28 });
  assert.deepEqual(framesSampledRange(continuedVideo(0).positions), { fewest: 25, most: 25 });
});

test("a join whose clip does not come from Continue Video does not guess the overlap", () => {
  const g = makeGraph();
  const first = g.add("SVD_img2vid_Conditioning", { video_frames: 25 });
  const sampler = g.add("KSampler");
  g.connect(first, 2, sampler, "latent_image");
  const join = g.add("LongerVideoJoinClips");
  g.connect(sampler, 0, join, "video");
  g.connect(sampler, 0, join, "clip");
  assert.deepEqual(joinedFrames(join), { video: 25, clip: 25, overlap: null, frames: null });
});

test("a looping keyframe stage samples the first keyframe again: 14 frames + loop, k=4 -> 57", () => {
  const g = makeGraph();
  const first = g.add("SVD_img2vid_Conditioning", { video_frames: 14 });
  const sampler = g.add("KSampler");
  g.connect(first, 2, sampler, "latent_image");
  for (const [loop, frames] of [[true, 57], [false, 53]]) {
    const stage = g.add("LongerVideoKeyframeConditioning", { frames_between: 4, loop });
    g.connect(sampler, 0, stage, "keyframe_latents");
    assert.equal(framesFrom(stage, 2), frames);
  }
});
