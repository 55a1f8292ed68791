// The shipped example workflows, written as specs: nodes (type, stage title, widgets by name,
// links by input name), titled stage groups laid out left to right, and one note each.
// Titles carry no frame counts (they would go stale when a user edits one): the widgets and the
// pack's read-outs show the numbers. Notes use no inline code (the Vue node design draws it blue on
// blue): node and widget names are in italics.
// tests/browser/build_workflows.mjs turns them into example_workflows/<file>.json in the frontend
// ComfyUI ships (its node sizes, its serialization) and the API twins with app.graphToPrompt().
// Node ids are stable: the server tests and the README address nodes by them.

const CHECKPOINT = "svd_xt.safetensors";
const SAMPLER = { seed: 42, control_after_generate: "fixed", steps: 20, sampler_name: "euler", scheduler: "karras" };
const KEYFRAME_CONDITIONING = {
  width: 1024, height: 576, motion_bucket_id: 127, augmentation_level: 0, hint: "hold", pin_keyframes: true, pin_release: 1,
};
const CHUNKS = { chunk_frames: 16, overlap_frames: 4, crossfade_frames: 4 };
const POSITIONS = { mode: "yarn", trained_frames: 25, yarn_alpha: 0.5, yarn_beta: 2 };

const loader = { type: "ImageOnlyCheckpointLoader", title: "Load SVD-XT", widgets: { ckpt_name: CHECKPOINT } };
// Stage 1 of the keyframe examples: stock SVD-XT makes `videoFrames` keyframes from the init image
// (nodes 2, 3, 4, 6; the loader is node 1).
const stageOneKeyframes = (videoFrames) => ({
  2: { type: "LoadImage", title: "Init image", widgets: { image: "example.png" } },
  3: { type: "SVD_img2vid_Conditioning", title: "Stage 1 keyframes",
       widgets: { width: 1024, height: 576, video_frames: videoFrames, motion_bucket_id: 127, fps: 6, augmentation_level: 0 },
       inputs: { clip_vision: [1, 1], init_image: [2, 0], vae: [1, 2] } },
  4: { type: "VideoLinearCFGGuidance", title: "Stage 1 CFG ramp", widgets: { min_cfg: 1 }, inputs: { model: [1, 0] } },
  6: { type: "KSampler", title: "Stage 1 sampler", widgets: { ...SAMPLER, cfg: 2.5, denoise: 1 },
       inputs: { model: [4, 0], positive: [3, 0], negative: [3, 1], latent_image: [3, 2] } },
});
const output = (fps, prefix, sampler) => ({
  7: { type: "LongerVideoChunkedDecode", title: "Chunked decode", widgets: CHUNKS, inputs: { vae: [1, 2], samples: [sampler, 0] } },
  8: { type: "CreateVideo", title: "Create video", widgets: { fps }, inputs: { images: [7, 0] } },
  9: { type: "SaveVideo", title: "Save Video", widgets: { filename_prefix: prefix, format: "auto", codec: "auto" }, inputs: { video: [8, 0] } },
  10: { type: "PreviewImage", title: "Frames", inputs: { images: [7, 0] } },
});
const OUTPUT_GROUP = { title: "Decode and save", columns: [[7, 10], [8, 9]] };
// One continuation: Continue Video (id), its sampler (id+1) and the join (id+2) onto `video`.
const CONTINUATION = { method: "injection", overlap_frames: 4, new_frames: 24, motion_bucket_id: 127, fps: 6,
  augmentation_level: 0, history_scale: 1, guidance_weight: 1 };
const continuation = (id, clip, video, seed) => ({
  [id]: { type: "LongerVideoContinue", title: `Clip ${clip}: continue`, widgets: CONTINUATION,
          inputs: { clip_vision: [1, 1], previous_latent: video, clip_image: [2, 0] } },
  [id + 1]: { type: "KSampler", title: `Clip ${clip} sampler`, widgets: { ...SAMPLER, seed, cfg: 2.5, denoise: 1 },
              inputs: { model: [5, 0], positive: [id, 0], negative: [id, 1], latent_image: [id, 2] } },
  [id + 2]: { type: "LongerVideoJoinClips", title: `Clip ${clip}: join`, widgets: { crossfade: true },
              inputs: { video, clip: [id + 1, 0] } },
});

export const WORKFLOWS = [
  {
    twin: "svd_longer_video_positions_chunked_decode",
    file: "50 frames - YaRN positions",
    thumbnail: ["50 frames", "1 image", "YaRN positions", "chunked decode"],
    note: `## 50 frames from one image
SVD-XT at twice its 25 trained frames: **YaRN temporal positions** keep the frame positions in
the range it was trained on; **chunked decode** decodes 16 frames per call.

- **Checkpoint:** svd_xt.safetensors in models/checkpoints. For SVD (14 frames) set
  *trained_frames* to 14.
- **Change:** the image in *Init image*, *video_frames* in *Video settings*, *seed* in *Sampler*.
  *YaRN positions* shows the scale for the frames you set.
- **Cost:** 20 steps over all 50 frames at once: about 10 GB at 1024x576; *Chunked decode* at
  16/4/4 about 16 GB, on a 12-16 GB card set it to 8/2/2 (README, VRAM tips).`,
    nodes: {
      1: loader,
      2: { type: "LoadImage", title: "Init image", widgets: { image: "example.png" } },
      3: { type: "SVD_img2vid_Conditioning", title: "Video settings",
           widgets: { width: 1024, height: 576, video_frames: 50, motion_bucket_id: 127, fps: 6, augmentation_level: 0 },
           inputs: { clip_vision: [1, 1], init_image: [2, 0], vae: [1, 2] } },
      4: { type: "VideoLinearCFGGuidance", title: "CFG ramp from frame 0", widgets: { min_cfg: 1 }, inputs: { model: [1, 0] } },
      5: { type: "LongerVideoTemporalPositions", title: "YaRN positions", widgets: POSITIONS, inputs: { model: [4, 0] } },
      6: { type: "KSampler", title: "Sampler", widgets: { ...SAMPLER, cfg: 2.5, denoise: 1 },
           inputs: { model: [5, 0], positive: [3, 0], negative: [3, 1], latent_image: [3, 2] } },
      ...output(6, "video/longer_video", 6),
    },
    groups: [
      { title: "Model and image", columns: [[1, 2]] },
      { title: "Sample the video", columns: [[3], [4, 5], [6]] },
      OUTPUT_GROUP,
    ],
  },
  {
    twin: "svd_longer_video_65_frames_freenoise",
    file: "65 frames - FreeNoise windows",
    thumbnail: ["65 frames", "1 image", "FreeNoise windows", "of 25 frames"],
    note: `## 65 frames from one image
SVD-XT at 2.6x its trained length. **Windowed attention** runs the temporal layers on windows of
25 frames (stride 4) and fuses them; **FreeNoise** starts later windows from shuffled noise of the
first, so they agree; **YaRN positions** and **chunked decode** as in the 50-frame example.

- **Checkpoint:** svd_xt.safetensors in models/checkpoints.
- **Change:** the image in *Init image*, *video_frames* in *Video settings*, *seed* in *Sampler*.
  Keep *window / stride* equal in both window nodes (the read-outs count the windows, and warn).
- **Cost:** each temporal layer runs 11 windows; sampling about 12 GB at 1024x576, *Chunked
  decode* at 16/4/4 about 16 GB: a 24 GB card, or 16 GB with 8/2/2 (README, VRAM tips).`,
    nodes: {
      1: loader,
      2: { type: "LoadImage", title: "Init image", widgets: { image: "example.png" } },
      3: { type: "SVD_img2vid_Conditioning", title: "Video settings",
           widgets: { width: 1024, height: 576, video_frames: 65, motion_bucket_id: 127, fps: 6, augmentation_level: 0 },
           inputs: { clip_vision: [1, 1], init_image: [2, 0], vae: [1, 2] } },
      4: { type: "VideoLinearCFGGuidance", title: "CFG ramp from frame 0", widgets: { min_cfg: 1 }, inputs: { model: [1, 0] } },
      5: { type: "LongerVideoTemporalPositions", title: "YaRN positions", widgets: POSITIONS, inputs: { model: [4, 0] } },
      11: { type: "LongerVideoWindowedAttention", title: "Windowed attention",
            widgets: { window_frames: 25, stride_frames: 4, fusion: "pyramid", mode: "block" }, inputs: { model: [5, 0] } },
      12: { type: "LongerVideoFreeNoise", title: "FreeNoise", widgets: { window_frames: 25, stride_frames: 4, mode: "shuffle" },
            inputs: { model: [11, 0] } },
      6: { type: "KSampler", title: "Sampler", widgets: { ...SAMPLER, cfg: 2.5, denoise: 1 },
           inputs: { model: [12, 0], positive: [3, 0], negative: [3, 1], latent_image: [3, 2] } },
      ...output(6, "video/longer_video_65", 6),
    },
    groups: [
      { title: "Model and image", columns: [[1, 2]] },
      { title: "Sample the video", columns: [[3, 4], [5, 11, 12], [6]] },
      OUTPUT_GROUP,
    ],
  },
  {
    twin: "svd_longer_video_keyframes_5_17_65",
    file: "65 frames - keyframes 5, 17, 65",
    thumbnail: ["65 frames", "5 keyframes", "then 17", "then 65"],
    note: `## 65 frames in three stages
**Stage 1:** stock SVD-XT makes 5 keyframes from the image. **Stage 2:** Keyframe Conditioning
fills 3 frames between each pair (17 frames), **stage 3** again (65 frames), every stage passing
exactly through the frames before it. Keyframe stages sample at a constant cfg 2 without the CFG
ramp: their keyframes are pinned, so a ramp from frame 0 has nothing to protect.

- **Checkpoint:** svd_xt.safetensors in models/checkpoints.
- **Change:** the image in *Init image*; *video_frames* in *Stage 1 keyframes* (K keyframes make
  (K-1)x16+1 frames: the stage 2 and 3 read-outs count them); the *seed* of each sampler.
- **Stage 3 is bidirectional:** each gap is sampled forward from its start keyframe and backward
  from its end keyframe, blended per frame, so it arrives at the end keyframe instead of jumping to
  it (set *direction* to forward for half the time).
- **Cost:** stage 3 samples one 5-frame gap at a time: memory stays that of 5 frames; bidirectional
  runs the model twice per step (about twice stage 3's time).`,
    nodes: {
      1: loader,
      ...stageOneKeyframes(5),
      13: { type: "LongerVideoKeyframeConditioning", title: "Stage 2 in-betweens",
            widgets: { frames_between: 4, ...KEYFRAME_CONDITIONING, fps: 12 },
            inputs: { clip_vision: [1, 1], vae: [1, 2], keyframe_latents: [6, 0], clip_images: [2, 0] } },
      14: { type: "KSampler", title: "Stage 2 sampler", widgets: { ...SAMPLER, cfg: 2, denoise: 1 },
            inputs: { model: [1, 0], positive: [13, 0], negative: [13, 1], latent_image: [13, 2] } },
      15: { type: "LongerVideoKeyframeConditioning", title: "Stage 3 in-betweens",
            widgets: { frames_between: 4, ...KEYFRAME_CONDITIONING, fps: 24 },
            inputs: { clip_vision: [1, 1], vae: [1, 2], keyframe_latents: [14, 0], clip_images: [2, 0] } },
      16: { type: "LongerVideoKeyframeSampler", title: "Stage 3 sampler",
            widgets: { ...SAMPLER, cfg: 2, mode: "segment", segments_per_batch: 1, direction: "bidirectional" },
            inputs: { model: [1, 0], positive: [15, 0], negative: [15, 1], latent_image: [15, 2] } },
      ...output(24, "video/longer_video_keyframes_65", 16),
    },
    groups: [
      { title: "Model and image", columns: [[1, 2]] },
      { title: "Stage 1: keyframes", columns: [[3, 4, 6]] },
      { title: "Stage 2: in-betweens", columns: [[13, 14]] },
      { title: "Stage 3: in-betweens", columns: [[15, 16]] },
      OUTPUT_GROUP,
    ],
  },
  {
    twin: "svd_longer_video_own_keyframes",
    file: "25 frames - your 3 keyframes",
    thumbnail: ["25 frames", "through your", "3 keyframes"],
    note: `## 25 frames through your own keyframes
Three images of one size become frames 0, 12 and 24; SVD-XT fills the 11 frames between each pair.
Each gap is sampled as its own 13-frame clip, pinned exactly to your images at both ends, at a
constant cfg 2 (no CFG ramp: the pinned keyframes need none).

- **Checkpoint:** svd_xt.safetensors in models/checkpoints.
- **Change:** pick your three images in *Keyframe 1*, *2* and *3* (all three open on ComfyUI's
  example.png; connect more to *Batch keyframes* for more); *frames_between* in *Keyframe
  conditioning*; the *seed* in *Sampler*.
- **Cost:** memory of one 13-frame clip at a time; time grows with the number of gaps.`,
    nodes: {
      1: loader,
      // example.png is in every ComfyUI's input folder: the workflow opens without a missing image
      2: { type: "LoadImage", title: "Keyframe 1", widgets: { image: "example.png" } },
      21: { type: "LoadImage", title: "Keyframe 2", widgets: { image: "example.png" } },
      22: { type: "LoadImage", title: "Keyframe 3", widgets: { image: "example.png" } },
      23: { type: "BatchImagesNode", title: "Batch keyframes",
            inputs: { "images.image0": [2, 0], "images.image1": [21, 0], "images.image2": [22, 0] } },
      13: { type: "LongerVideoKeyframeConditioning", title: "Keyframe conditioning",
            widgets: { frames_between: 12, ...KEYFRAME_CONDITIONING, fps: 6 },
            inputs: { clip_vision: [1, 1], vae: [1, 2], keyframes: [23, 0] } },
      16: { type: "LongerVideoKeyframeSampler", title: "Sampler", widgets: { ...SAMPLER, cfg: 2, mode: "segment", segments_per_batch: 1 },
            inputs: { model: [1, 0], positive: [13, 0], negative: [13, 1], latent_image: [13, 2] } },
      ...output(6, "video/longer_video_own_keyframes", 16),
    },
    groups: [
      { title: "Model", columns: [[1]] },
      { title: "Your keyframes", columns: [[2, 21, 22], [23]] },
      { title: "Sample between them", columns: [[13], [16]] },
      OUTPUT_GROUP,
    ],
  },
  {
    twin: "svd_longer_video_continued_97_frames",
    file: "97 frames - continued 3 times",
    thumbnail: ["97 frames", "25 from 1 image", "then 3 x 24 more", "continued"],
    note: `## 97 frames by continuing a clip 3 times
**Clip 1:** stock SVD-XT makes 25 frames from the image. **Continue Video** starts each next clip
from the last 4 frames of the video so far (*injection*: they are held exactly while sampling) and
adds 24 new frames; **Join Clips** appends them without repeating the overlap: 25 -> 49 -> 73 -> 97
(each node's read-out counts the frames). Clip 1 samples 25 frames, clips 2-4 sample 4 + 24 = 28:
**YaRN positions** scale those 28 back into SVD-XT's trained 25 (its read-out: 25-28 frames).

- **Checkpoint:** svd_xt.safetensors in models/checkpoints.
- **Change:** the image in *Init image*; *new_frames* / *overlap_frames* in each *Clip N: continue*;
  the *seed* of each sampler (different seeds, or every clip repeats the same motion). Copy a
  clip's group (continue, sampler, join) for more clips.
- **Cost:** memory of one 28-frame clip at a time, whatever the length; time grows with the clips.`,
    nodes: {
      1: loader,
      2: { type: "LoadImage", title: "Init image", widgets: { image: "example.png" } },
      3: { type: "SVD_img2vid_Conditioning", title: "Clip 1 settings",
           widgets: { width: 1024, height: 576, video_frames: 25, motion_bucket_id: 127, fps: 6, augmentation_level: 0 },
           inputs: { clip_vision: [1, 1], init_image: [2, 0], vae: [1, 2] } },
      4: { type: "VideoLinearCFGGuidance", title: "CFG ramp from frame 0", widgets: { min_cfg: 1 }, inputs: { model: [1, 0] } },
      5: { type: "LongerVideoTemporalPositions", title: "YaRN positions", widgets: POSITIONS, inputs: { model: [4, 0] } },
      6: { type: "KSampler", title: "Clip 1 sampler", widgets: { ...SAMPLER, cfg: 2.5, denoise: 1 },
           inputs: { model: [5, 0], positive: [3, 0], negative: [3, 1], latent_image: [3, 2] } },
      ...continuation(13, 2, [6, 0], 43),
      ...continuation(16, 3, [15, 0], 44),
      // ids from 24: 21 and 22 are image nodes in another example, and the frontend that builds these
      // keeps image previews by node id across workflows
      ...continuation(24, 4, [18, 0], 45),
      ...output(6, "video/longer_video_continued_97", 26),
    },
    groups: [
      { title: "Model and image", columns: [[1, 2]] },
      { title: "Clip 1: from the image", columns: [[3, 4], [5, 6]] },
      { title: "Clip 2: continue and join", columns: [[13], [14, 15]] },
      { title: "Clip 3: continue and join", columns: [[16], [17, 18]] },
      { title: "Clip 4: continue and join", columns: [[24], [25, 26]] },
      OUTPUT_GROUP,
    ],
  },
  {
    twin: "svd_longer_video_loop_from_one_image",
    file: "33 frames - loop from one image",
    thumbnail: ["33 frames", "1 image", "a seamless loop", "bidirectional"],
    note: `## A seamless loop from one image
**Stage 1:** stock SVD-XT makes 4 keyframes from the image. **Loop:** Keyframe Conditioning with
*loop* on adds the first keyframe again after the last, and fills 7 frames between each pair; the
video ends on its first frame, so it repeats without a jump (a player repeating the file shows
that frame twice: drop the last one there). The **Keyframe Sampler** samples each gap
*bidirectional*: forward from its start keyframe and backward from its end keyframe, blended per
frame.

- **Checkpoint:** svd_xt.safetensors in models/checkpoints.
- **Change:** the image in *Init image*; *video_frames* in *Stage 1 keyframes* (K keyframes make
  Kx8+1 frames: the loop read-out counts them); *frames_between* in *Loop in-betweens*; the *seed*
  of each sampler.
- **Cost:** bidirectional runs the model twice per step (about twice the time, the same memory);
  the loop samples one 9-frame gap at a time.`,
    nodes: {
      1: loader,
      ...stageOneKeyframes(4),
      13: { type: "LongerVideoKeyframeConditioning", title: "Loop in-betweens",
            widgets: { frames_between: 8, ...KEYFRAME_CONDITIONING, fps: 12, loop: true },
            inputs: { clip_vision: [1, 1], vae: [1, 2], keyframe_latents: [6, 0], clip_images: [2, 0] } },
      16: { type: "LongerVideoKeyframeSampler", title: "Loop sampler",
            widgets: { ...SAMPLER, cfg: 2, mode: "segment", segments_per_batch: 1, direction: "bidirectional",
                       reverse_motion_bucket_id: -1 },
            inputs: { model: [1, 0], positive: [13, 0], negative: [13, 1], latent_image: [13, 2] } },
      ...output(12, "video/longer_video_loop", 16),
    },
    groups: [
      { title: "Model and image", columns: [[1, 2]] },
      { title: "Stage 1: keyframes", columns: [[3, 4, 6]] },
      { title: "Loop: bidirectional in-betweens", columns: [[13, 16]] },
      OUTPUT_GROUP,
    ],
  },
];
