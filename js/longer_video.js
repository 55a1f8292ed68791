// Longer Video frontend extension: live read-outs under the widgets of the pack's nodes, so users
// see what they would otherwise compute by hand (output frames of a keyframe stage with its loop, gaps
// per model call and the sampling direction's cost, number of temporal windows, position scale, new frames per decoder call, frames so far and
// after a continuation or a join) and get a warning
// before queueing settings that cannot work.
//
// The read-out is a DOM widget (node.addDOMWidget): the classic canvas design places its element
// over the node, and the Vue node design ("Nodes 2.0") puts the same element inside the node, so
// both designs show it. It is not serialized: saved workflows and API prompts stay unchanged.
// Warnings wrap onto more lines instead of shrinking the font.
import { app } from "../../scripts/app.js";
import {
  framesSampledRange, framesSampledWith, joinedFrames, keyframeCount, keyframeStageOf, onModelChain, previousFrames,
  widgetValue,
} from "./graph_trace.js";
import {
  chunkReadout, continueReadout, joinReadout, keyframeReadout, positionReadout, samplerReadout, stageKeyframes,
  windowAgreement, windowReadout,
} from "./readouts.js";

const WIDGET_NAME = "longer_video_readout";
const FONT = "12px sans-serif";
const LINE_HEIGHT = 16;
const MARGIN = 8;       // the DOM widget's margin around the element, on every side
const MAX_FRESH_WIDTH = 460;

const windowSettings = (node) => ({
  window: Number(widgetValue(node, "window_frames")), stride: Number(widgetValue(node, "stride_frames")),
});

// Windowed attention and FreeNoise share window_frames / stride_frames and the same read-out; each
// warns when the other one, on the same MODEL chain, uses different settings.
function windowsReadout(node, otherType, otherName) {
  const own = windowSettings(node);
  const readout = windowReadout(framesSampledWith(node), own.window, own.stride);
  if (!readout.ok) return readout;
  const other = onModelChain(node, otherType);
  return windowAgreement(own, other && windowSettings(other), otherName) ?? readout;
}

const READOUTS = {
  LongerVideoChunkedDecode: (node) => chunkReadout(
    Number(widgetValue(node, "chunk_frames")),
    Number(widgetValue(node, "overlap_frames")),
    Number(widgetValue(node, "crossfade_frames")),
  ),
  LongerVideoKeyframeConditioning: (node) => keyframeReadout(
    keyframeCount(node), Number(widgetValue(node, "frames_between")), widgetValue(node, "loop") === true,
  ),
  LongerVideoKeyframeSampler: (node) => {
    const stage = keyframeStageOf(node);
    return samplerReadout(
      widgetValue(node, "mode"), stage ? stageKeyframes(keyframeCount(stage), widgetValue(stage, "loop") === true) : null,
      stage ? Number(widgetValue(stage, "frames_between")) : NaN, Number(widgetValue(node, "segments_per_batch")),
      widgetValue(node, "direction") ?? "forward",
    );
  },
  LongerVideoWindowedAttention: (node) => windowsReadout(node, "LongerVideoFreeNoise", "FreeNoise"),
  LongerVideoFreeNoise: (node) => windowsReadout(node, "LongerVideoWindowedAttention", "Windowed Attention"),
  LongerVideoTemporalPositions: (node) => {
    const range = framesSampledRange(node);
    return positionReadout(range?.most, Number(widgetValue(node, "trained_frames")), widgetValue(node, "mode"), range?.fewest);
  },
  LongerVideoContinue: (node) => continueReadout(
    previousFrames(node), Number(widgetValue(node, "overlap_frames")), Number(widgetValue(node, "new_frames")),
  ),
  LongerVideoJoinClips: (node) => {
    const { video, clip, overlap } = joinedFrames(node);
    return joinReadout(video, clip, overlap);
  },
};

const measureContext = document.createElement("canvas").getContext("2d");

function textWidth(text, font) {
  measureContext.font = font;
  return measureContext.measureText(text).width;
}

// Lines the browser's word wrapping makes of `text` in `width` pixels (greedy, as CSS wraps).
function wrappedLines(text, width) {
  let lines = 1;
  let line = "";
  for (const word of text.split(" ")) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && textWidth(candidate, FONT) > width) {
      lines += 1;
      line = word;
    } else {
      line = candidate;
    }
  }
  return lines;
}

const displayText = (readout) => (readout.ok ? "" : "\u26a0 ") + readout.text;

function makeElement() {
  const element = document.createElement("div");
  element.className = "longer-video-readout";
  Object.assign(element.style, {
    font: FONT, lineHeight: `${LINE_HEIGHT}px`, whiteSpace: "normal",
    overflowWrap: "break-word", overflow: "hidden", boxSizing: "border-box", pointerEvents: "none",
  });
  return element;
}

// Recompute the read-out and update the element; grow a canvas-design node when the text needs
// another line. Cheap when nothing changed.
function refresh(node) {
  const widget = node.widgets?.find((w) => w.name === WIDGET_NAME);
  if (!widget) return;
  const readout = node.longerVideoReadout();
  const text = displayText(readout);
  const element = widget.element;
  if (element.textContent !== text) element.textContent = text;
  element.style.color = readout.ok ? "#9c9" : "#f66";
  element.dataset.ok = String(readout.ok);
  const lines = wrappedLines(text, node.size[0] - 2 * MARGIN - 4);
  if (lines !== widget.longerVideoLines) {
    widget.longerVideoLines = lines;
    const needed = node.computeSize?.()[1];
    if (needed > node.size[1]) node.setSize?.([node.size[0], needed]);
    node.setDirtyCanvas?.(true, true);
  }
}

// The Vue node design puts the node source badge beside the title: a fresh node widens until its
// title shows in full (nodes of a loaded workflow keep their saved size). The width goes through
// the node element's --node-width, as the design's own resize handle sets it.
function fitVueTitle(node) {
  const element = document.querySelector(`[data-node-id="${node.id}"]`);
  const title = element?.querySelector('[data-testid="node-title"] .truncate');
  if (!title) return;
  const missing = title.scrollWidth - title.clientWidth;
  if (missing > 0) {
    element.style.setProperty("--node-width", `${Math.ceil(element.getBoundingClientRect().width / (app.canvas?.ds?.scale ?? 1) + missing + 2)}px`);
  } else {
    node.longerVideoFresh = false;
  }
}

function refreshAll() {
  const graph = app.canvas?.graph ?? app.graph;
  for (const node of graph?._nodes ?? graph?.nodes ?? []) {
    if (typeof node.longerVideoReadout !== "function") continue;
    refresh(node);
    if (node.longerVideoFresh && window.LiteGraph?.vueNodesMode) fitVueTitle(node);
  }
}

// Fresh nodes: wide enough for their title (the canvas design truncates titles closer than two
// title heights to the edges) and for the read-out on one line.
function fitWidth(node) {
  const titleHeight = window.LiteGraph?.NODE_TITLE_HEIGHT ?? 30;
  const title = textWidth(node.title ?? "", node.titleFontStyle ?? "14px sans-serif") + 2 * titleHeight + 8;
  const readout = textWidth(displayText(node.longerVideoReadout()), FONT) + 2 * MARGIN + 8;
  const width = Math.ceil(Math.max(node.size[0], Math.min(Math.max(title, readout), MAX_FRESH_WIDTH)));
  node.setSize?.([width, Math.max(node.size[1], node.computeSize?.()[1] ?? 0)]);
}

app.registerExtension({
  name: "LongerVideo.Readouts",
  nodeCreated(node) {
    const compute = READOUTS[node.comfyClass];
    if (!compute || !node.addDOMWidget) return;
    node.longerVideoReadout = () => compute(node);
    const element = makeElement();
    const widget = node.addDOMWidget(WIDGET_NAME, WIDGET_NAME, element, {
      serialize: false,
      hideOnZoom: false,
      getValue: () => element.textContent,
      setValue: () => {},
      margin: MARGIN,
      getMinHeight: () => (widget.longerVideoLines ?? 1) * LINE_HEIGHT + 2 * MARGIN,
      getMaxHeight: () => (widget.longerVideoLines ?? 1) * LINE_HEIGHT + 2 * MARGIN,
      onDraw: () => refresh(node),
    });
    widget.serialize = false;  // no entry in widgets_values: saved workflows keep their layout
    refresh(node);
    fitWidth(node);
    node.longerVideoFresh = true;
    const configure = node.onConfigure;
    node.onConfigure = function () {
      this.longerVideoFresh = false;  // loaded from a workflow: keep its size
      return configure?.apply(this, arguments);
    };
  },
  setup() {
    // The Vue node design does not draw nodes on the canvas (no onDraw): refresh on a timer too.
    setInterval(refreshAll, 300);
  },
});
