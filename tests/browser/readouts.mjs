// Browser tier: headless Debian chromium (playwright-core) against a real ComfyUI server with the
// pack loaded. In each node design the frontend has (canvas; Vue "Nodes 2.0" where it renders DOM
// widgets), loads every shipped workflow, picks images, and measures what a user sees: node
// rectangles, titles and read-out lines against the node width; reads the read-outs, converts each
// workflow with the frontend's own Export (API) conversion (app.graphToPrompt), edits widgets and
// adds nodes; opens the template browser. Saves screenshots. Prints one JSON line that
// tests/comfyui/test_browser.py checks.
//   node tests/browser/readouts.mjs <server url> <repository root> <screenshot dir> <designs, e.g. canvas,vue>
import { join } from "node:path";
import {
  closeDialogs, fitView, launch, loadWorkflow, LOD_DEFAULT, openComfy, readJson, setLodThreshold,
} from "./comfy_page.mjs";
import { WORKFLOWS } from "./workflow_specs.mjs";

const [server, root, shotDir, designList] = process.argv.slice(2);
const result = { errors: [], page_errors: [], dialogs_open: {}, designs: {} };
let phase = "start";

// In the page: every node's rectangle on the canvas (title bar included) in canvas units, or its
// element's rectangle in the Vue design; pairs that overlap.
function measureInPage(design) {
  const { app, LiteGraph } = window;
  const nodes = app.graph._nodes;
  const titleHeight = LiteGraph.NODE_TITLE_HEIGHT;
  const rect = (n) => {
    if (design === "vue") {
      const r = document.querySelector(`[data-node-id="${n.id}"]`)?.getBoundingClientRect();
      return r && [r.left, r.top, r.width, r.height];
    }
    return [n.pos[0], n.pos[1] - titleHeight, n.size[0], n.size[1] + titleHeight];
  };
  const rects = nodes.map((n) => [n, rect(n)]).filter(([, r]) => r);
  const overlaps = [];
  for (let i = 0; i < rects.length; i++) {
    for (let j = i + 1; j < rects.length; j++) {
      const [a, ra] = rects[i], [b, rb] = rects[j];
      const dx = Math.min(ra[0] + ra[2], rb[0] + rb[2]) - Math.max(ra[0], rb[0]);
      const dy = Math.min(ra[1] + ra[3], rb[1] + rb[3]) - Math.max(ra[1], rb[1]);
      if (dx > 0 && dy > 0) overlaps.push(`${a.title} (${a.id}) / ${b.title} (${b.id}): ${dx.toFixed(0)}x${dy.toFixed(0)}`);
    }
  }
  const context = document.createElement("canvas").getContext("2d");
  const titles = nodes.map((n) => {
    if (design === "vue") {
      const el = document.querySelector(`[data-node-id="${n.id}"] [data-testid="node-title"] .truncate`);
      return { id: n.id, title: n.title, need: el?.scrollWidth, have: el?.clientWidth };
    }
    context.font = n.titleFontStyle;
    return { id: n.id, title: n.title, need: Math.ceil(context.measureText(n.title).width), have: n.size[0] - 2 * titleHeight };
  });
  const readouts = nodes.filter((n) => typeof n.longerVideoReadout === "function").map((n) => {
    const el = n.widgets.find((w) => w.name === "longer_video_readout")?.element;
    const box = el?.getBoundingClientRect();
    const range = document.createRange();
    if (el) range.selectNodeContents(el);
    const lines = el ? [...range.getClientRects()] : [];
    context.font = el ? getComputedStyle(el).font : "";
    return {
      id: n.id, type: n.comfyClass, ...n.longerVideoReadout(), shown: el?.textContent, visible: !!box && box.width > 0,
      font_px: el ? parseFloat(getComputedStyle(el).fontSize) : null,
      lines: new Set(lines.map((r) => Math.round(r.top))).size,
      overflow: lines.some((r) => r.right > box.right + 0.5 || r.bottom > box.bottom + 0.5),
      text_px: Math.ceil(context.measureText(el?.textContent ?? "").width),
      node_px: design === "vue"
        ? document.querySelector(`[data-node-id="${n.id}"]`)?.getBoundingClientRect().width / app.canvas.ds.scale
        : n.size[0],
    };
  });
  // Nodes that stick out of the group they belong to (its title bar included), in screen pixels
  // in the Vue design (its nodes are DOM elements sized by the design), canvas units otherwise.
  const { ds } = app.canvas;
  const origin = app.canvas.canvas.getBoundingClientRect();
  const groups = app.graph._groups ?? app.graph.groups ?? [];
  const outside = [];
  for (const [n, r] of rects) {
    const centre = [n.pos[0] + n.size[0] / 2, n.pos[1] + n.size[1] / 2];
    const group = groups.find((g) => centre[0] > g.pos[0] && centre[0] < g.pos[0] + g.size[0]
      && centre[1] > g.pos[1] && centre[1] < g.pos[1] + g.size[1]);
    if (!group) continue;
    let box = [group.pos[0], group.pos[1], group.size[0], group.size[1]];
    if (design === "vue") {
      box = [(box[0] + ds.offset[0]) * ds.scale + origin.left, (box[1] + ds.offset[1]) * ds.scale + origin.top,
        box[2] * ds.scale, box[3] * ds.scale];
    }
    const out = Math.max(box[0] - r[0], box[1] - r[1], r[0] + r[2] - box[0] - box[2], r[1] + r[3] - box[1] - box[3]);
    if (out > 1) outside.push(`${n.title} (${n.id}) out of ${group.title} by ${out.toFixed(0)}`);
  }
  return { overlaps, titles, readouts, outside_groups: outside };
}

// In the page, as a workflow opens: the zoom it restores and whether the canvas design draws node
// text at it (low quality = blank node boxes), and which nodes are on screen.
function openedViewInPage() {
  const { app } = window;
  const canvas = app.canvas;
  const [width, height] = [canvas.canvas.clientWidth, canvas.canvas.clientHeight];
  const onScreen = app.graph._nodes.filter((n) => {
    const x = (n.pos[0] + canvas.ds.offset[0]) * canvas.ds.scale, y = (n.pos[1] + canvas.ds.offset[1]) * canvas.ds.scale;
    return x >= 0 && y >= 0 && x + n.size[0] * canvas.ds.scale <= width && y + n.size[1] * canvas.ds.scale <= height;
  }).map((n) => n.title);
  return { scale: canvas.ds.scale, low_quality: !!canvas.low_quality, on_screen: onScreen };
}

async function checkWorkflows(page, design) {
  const out = {};
  for (const spec of WORKFLOWS) {
    phase = `${design}: ${spec.file}`;
    const workflow = readJson(join(root, "example_workflows", `${spec.file}.json`));
    await setLodThreshold(page, LOD_DEFAULT);
    await loadWorkflow(page, workflow, spec.file);
    const dialogs = await closeDialogs(page);
    // as the workflow opens (its saved view, the default level of detail): what a user sees first
    const opened = await page.evaluate(openedViewInPage);
    const openedShot = `${spec.twin}.${design}.png`;
    result.dialogs_open[openedShot] = dialogs;
    await page.screenshot({ path: join(shotDir, openedShot) });
    const prompt = await page.evaluate(async () => (await window.app.graphToPrompt()).output);  // Export (API)
    // pick an image in every Load Image, as a user does: the preview loads and the node grows
    await page.evaluate(() => {
      for (const node of window.app.graph._nodes.filter((n) => n.comfyClass === "LoadImage")) {
        const widget = node.widgets.find((w) => w.name === "image");
        widget.value = widget.value === "example.png" ? "keyframe_1.png" : "example.png";
        widget.callback?.(widget.value);
      }
    });
    await page.waitForTimeout(1500);
    // the whole graph, every node's text drawn: measured and shown as an overview
    await setLodThreshold(page, 0);
    await fitView(page);
    const shot = `${spec.twin}.${design}.overview.png`;
    result.dialogs_open[shot] = await closeDialogs(page);
    await page.screenshot({ path: join(shotDir, shot) });
    out[spec.twin] = {
      opened,
      ...(await page.evaluate(measureInPage, design)),
      prompt,
      group_titles: await page.evaluate(() => (window.app.graph._groups ?? window.app.graph.groups).map((g) => g.title)),
      notes: await page.evaluate(() => window.app.graph._nodes.filter((n) => /Note/.test(n.type)).map((n) => n.widgets?.[0]?.value ?? "")),
    };
  }
  return out;
}

// Typed values: a window longer than the video, FreeNoise windows that differ from the windowed
// attention's, chunking that cannot work.
async function editWidgets(page, design) {
  phase = `${design}: edit widgets`;
  const spec = WORKFLOWS.find((w) => w.twin === "svd_longer_video_65_frames_freenoise");
  await loadWorkflow(page, readJson(join(root, "example_workflows", `${spec.file}.json`)), spec.file);
  const set = (changes) => page.evaluate((c) => {
    for (const [type, name, value] of c) {
      const node = window.app.graph._nodes.find((n) => n.comfyClass === type);
      const widget = node.widgets.find((w) => w.name === name);
      widget.value = value;
      widget.callback?.(value);
    }
    window.app.graph.setDirtyCanvas(true, true);
  }, changes);
  const snapshot = async () => {
    await page.waitForTimeout(700);
    return (await page.evaluate(measureInPage, design)).readouts;
  };
  await set([["LongerVideoFreeNoise", "window_frames", 16]]);
  const mismatch = await snapshot();
  await set([["LongerVideoFreeNoise", "window_frames", 25], ["LongerVideoWindowedAttention", "window_frames", 200],
    ["SVD_img2vid_Conditioning", "video_frames", 129], ["LongerVideoChunkedDecode", "overlap_frames", 8]]);
  const warnings = await snapshot();
  await fitView(page);
  await page.screenshot({ path: join(shotDir, `freenoise_warnings.${design}.png`) });
  return { mismatch, warnings };
}

// Nodes added by hand at their default size: titles and read-outs must fit.
async function addNodes(page, design) {
  phase = `${design}: add nodes`;
  await page.evaluate(() => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const types = ["LongerVideoTemporalPositions", "LongerVideoWindowedAttention", "LongerVideoFreeNoise",
      "LongerVideoKeyframeConditioning", "LongerVideoKeyframeSampler", "LongerVideoChunkedDecode"];
    types.forEach((type, i) => {
      const node = LiteGraph.createNode(type);
      node.id = 901 + i;  // ids no earlier prompt used: no stale outputs of the server's history
      node.pos = [40 + (i % 3) * 560, 80 + Math.floor(i / 3) * 480];
      app.graph.add(node);
    });
    const byType = (t) => app.graph._nodes.find((n) => n.comfyClass === t);
    byType("LongerVideoKeyframeConditioning").widgets.find((w) => w.name === "frames_between").value = 6;
    // windowed attention feeding FreeNoise with other windows: a warning longer than the node is wide
    byType("LongerVideoWindowedAttention").connect(0, byType("LongerVideoFreeNoise"), 0);
    byType("LongerVideoWindowedAttention").widgets.find((w) => w.name === "window_frames").value = 16;
    app.canvas.ds.scale = 1;
    app.canvas.ds.offset = [80, 60];
    app.graph.setDirtyCanvas(true, true);
  });
  await page.waitForTimeout(1500);  // the Vue design widens fresh nodes after they are drawn
  const measured = await page.evaluate(measureInPage, design);
  result.dialogs_open[`added_nodes.${design}.png`] = await closeDialogs(page);
  await page.screenshot({ path: join(shotDir, `added_nodes.${design}.png`) });
  return measured;
}

async function templateBrowser(page) {
  phase = "template browser";
  await page.evaluate(() => window.app.extensionManager.command.execute("Comfy.BrowseTemplates"));
  await page.waitForTimeout(1500);
  await page.getByText("comfyui-longer-video", { exact: true }).first().click({ timeout: 180000 });  // slow on a loaded machine
  await page.waitForTimeout(2000);
  // thumbnails load lazily: bring each card into view and wait for its image (slow on a loaded machine)
  await page.evaluate(async () => {
    for (const image of document.querySelectorAll('[data-testid^="template-workflow-"] img')) {
      image.scrollIntoView({ block: "nearest" });
      for (let i = 0; i < 300 && !(image.complete && image.naturalWidth > 0); i++) await new Promise((r) => setTimeout(r, 100));
    }
  });
  const cards = await page.evaluate(() => [...document.querySelectorAll('[data-testid^="template-workflow-"]')].map((card) => {
    const title = card.querySelector("h3");
    const description = card.querySelector("p");
    const image = card.querySelector("img");
    return {
      name: card.dataset.testid.replace("template-workflow-", ""),
      title: title?.textContent.trim(), description: description?.textContent.trim(),
      title_fits: !!title && title.scrollWidth <= title.clientWidth + 1 && title.scrollHeight <= title.clientHeight + 1,
      thumbnail_px: image ? [image.naturalWidth, Math.round(image.getBoundingClientRect().width)] : null,
    };
  }));
  await page.screenshot({ path: join(shotDir, "template_browser.png") });
  await page.keyboard.press("Escape");
  return cards;
}

const browser = await launch();
try {
  for (const design of designList.split(",")) {
    phase = `${design}: open`;
    const page = await openComfy(browser, server, design, result.page_errors);
    const vueRendered = design !== "vue" || await page.evaluate(() => !!window.LiteGraph.vueNodesMode);
    result.designs[design] = { rendered: vueRendered };
    if (!vueRendered) continue;
    result.designs[design].workflows = await checkWorkflows(page, design);
    result.designs[design].edits = await editWidgets(page, design);
    result.designs[design].added = await addNodes(page, design);
    if (design === "canvas") result.templates = await templateBrowser(page);
    await page.close();
  }
} catch (e) {
  result.errors.push(`${phase}: ${e?.stack ?? e}`);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
