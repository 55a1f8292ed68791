// Writes the shipped example workflows from tests/browser/workflow_specs.mjs, through the frontend
// ComfyUI ships: its node sizes (image previews loaded), its serialization (the UI file), its own
// Export (API) conversion app.graphToPrompt() (the API twin in tests/workflows/) and a thumbnail.
// Run it through tests/browser/build_workflows.py, which starts a server with the input images.
//   node tests/browser/build_workflows.mjs <server url> <repository root>
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { closeDialogs, launch, openComfy } from "./comfy_page.mjs";
import { WORKFLOWS } from "./workflow_specs.mjs";

const [server, root] = process.argv.slice(2);
const LAYOUT = {
  gapX: 50, gapY: 80, pad: 24, groupTitle: 44, groupGap: 70, noteWidth: 430, minWidth: 300,
  // The Vue node design draws an image preview as wide as the node and square for the shipped
  // example.png, under the widgets: a Load Image node there is about its width + 140 tall (title
  // included). The canvas node gets that height too, so the node stays inside its group in both.
  imageExtra: 140, columnSlack: 40,
  // The view a workflow opens with (saved as extra.ds): the note and the first two groups, at a
  // zoom where the canvas design draws node text with the frontend's default level-of-detail
  // threshold (8 px / 14 px = 0.57 on a plain display), on a 1600 px wide window. The Vue node
  // design spreads a canvas-made layout by 1.2 (its SCALE_FACTOR) and keeps the saved zoom: the
  // groups are fitted at that size.
  view: { width: 1600, left: 90, top: 110, right: 30, vueSpread: 1.2, minScale: 0.65, maxScale: 0.85 },
};

// Runs in the page: builds the graph of one spec and returns the UI workflow and the API prompt.
async function buildInPage([spec, layout]) {
  const { app, LiteGraph } = window;
  const graph = app.graph;
  graph.clear();
  const nodes = {};
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  for (const [id, s] of Object.entries(spec.nodes)) {
    const node = LiteGraph.createNode(s.type);
    if (!node) throw new Error(`node type ${s.type} is not known to this server`);
    node.id = Number(id);
    graph.add(node);
    node.title = s.title;
    for (const [name, value] of Object.entries(s.widgets ?? {})) {
      const widget = node.widgets?.find((w) => w.name === name);
      if (!widget) throw new Error(`${s.type} has no widget ${name}`);
      widget.value = value;
      if (name === "image") widget.callback?.(value);  // loads the preview, as picking a file does
    }
    nodes[id] = node;
  }
  for (const [id, s] of Object.entries(spec.nodes)) {
    for (const [input, [source, slot]] of Object.entries(s.inputs ?? {})) {
      const target = nodes[id];
      const index = target.inputs.findIndex((i) => i.name === input);
      if (index < 0) throw new Error(`${s.type} has no input ${input}`);
      if (!nodes[source].connect(slot, target, index)) throw new Error(`could not link ${source}:${slot} -> ${id}.${input}`);
      await pause(50);  // inputs that grow (BatchImagesNode) add their next slot
    }
  }
  const note = LiteGraph.createNode("MarkdownNote");
  note.id = 100;
  graph.add(note);
  note.title = "Read me";
  note.widgets[0].value = spec.note;
  await pause(2000);  // image previews, read-outs

  const titleHeight = LiteGraph.NODE_TITLE_HEIGHT;
  note.pos = [0, layout.groupTitle + titleHeight];
  note.setSize([layout.noteWidth, 340]);
  // Text widgets draw their name and value on one line: wide enough for both (Save Video's prefix).
  const context = document.createElement("canvas").getContext("2d");
  context.font = `${LiteGraph.NODE_SUBTEXT_SIZE ?? 12}px Arial`;
  const textNeed = (node) => Math.max(0, ...(node.widgets ?? []).filter((w) => typeof w.value === "string")
    .map((w) => context.measureText(`${w.label ?? w.name}  ${w.value}`).width + 90));
  let x = layout.noteWidth + layout.groupGap;
  const groupRights = [];
  for (const groupSpec of spec.groups) {
    let columnX = x + layout.pad;
    let bottom = 0;
    for (const column of groupSpec.columns) {
      const members = column.map((id) => nodes[id]);
      const width = Math.ceil(Math.max(layout.minWidth,
        ...members.map((n) => Math.max(n.size[0], n.computeSize()[0], textNeed(n)))));
      let y = layout.groupTitle + layout.pad + titleHeight;
      for (const node of members) {
        node.pos = [columnX, y];
        const vueImage = node.comfyClass === "LoadImage" ? width + layout.imageExtra - titleHeight : 0;
        node.setSize([width, Math.ceil(Math.max(node.size[1], node.computeSize()[1], vueImage))]);
        y += node.size[1] + layout.gapY + titleHeight;
      }
      bottom = Math.max(bottom, y - layout.gapY - titleHeight + layout.columnSlack);
      columnX += width + layout.gapX;
    }
    const group = new LiteGraph.LGraphGroup(groupSpec.title);
    group.pos = [x, 0];
    group.size = [columnX - layout.gapX + layout.pad - x, bottom + layout.pad];
    graph.add(group);
    groupRights.push(group.pos[0] + group.size[0]);
    x = columnX - layout.gapX + layout.pad + layout.groupGap;
  }
  graph.setDirtyCanvas(true, true);
  await pause(500);
  const { workflow, output } = await app.graphToPrompt();
  // Open on the note and the first two groups (what a user changes first), legible.
  const { view } = layout;
  const shown = groupRights[Math.min(1, groupRights.length - 1)];
  const scale = Math.min(view.maxScale, Math.max(view.minScale, (view.width - view.left - view.right) / (shown * view.vueSpread)));
  workflow.extra.ds = { scale: Number(scale.toFixed(3)), offset: [Math.round(view.left / scale), Math.round(view.top / scale)] };
  return { workflow, output };
}

const browser = await launch();
const errors = [];
try {
  const page = await openComfy(browser, server, "canvas", errors);
  const only = process.env.WORKFLOW_ONLY;  // a twin name: build that workflow alone
  for (const spec of WORKFLOWS.filter((w) => !only || w.twin === only)) {
    const { workflow, output } = await page.evaluate(buildInPage, [spec, LAYOUT]);
    writeFileSync(join(root, "example_workflows", `${spec.file}.json`), `${JSON.stringify(workflow, null, 1)}\n`);
    writeFileSync(join(root, "tests", "workflows", `${spec.twin}.api.json`), `${JSON.stringify(output, null, 1)}\n`);
    const thumbnail = await browser.newPage({ viewport: { width: 512, height: 512 } });
    await thumbnail.setContent(thumbnailHtml(spec.thumbnail));
    await thumbnail.screenshot({ path: join(root, "example_workflows", `${spec.file}.jpg`), type: "jpeg", quality: 88 });
    await thumbnail.close();
    console.log(`wrote ${spec.file}`);
  }
  await closeDialogs(page);
} finally {
  await browser.close();
}
if (errors.length) {
  console.error(errors.join("\n"));
  process.exit(1);
}

// A card-sized diagram: the frame count large, then what makes it, over a strip of frames.
function thumbnailHtml([headline, ...lines]) {
  const frames = Array.from({ length: 9 }, (_, i) => `<div style="flex:1;background:hsl(${200 + i * 8},55%,${38 + i * 3}%)"></div>`).join("");
  return `<body style="margin:0;width:512px;height:512px;background:#1d2430;color:#f4f4f4;font-family:sans-serif;
    display:flex;flex-direction:column;justify-content:center;align-items:center;gap:14px">
    <div style="font-size:92px;font-weight:700;line-height:1">${headline}</div>
    ${lines.map((l) => `<div style="font-size:46px;line-height:1.1">${l}</div>`).join("")}
    <div style="display:flex;gap:6px;width:440px;height:56px;margin-top:18px">${frames}</div></body>`;
}

