// Browser tier: headless Debian chromium (playwright-core) against a real ComfyUI server with the
// pack loaded. Loads the shipped workflows, adds nodes, sets widgets, reads the pack's read-outs
// from the page and saves screenshots. Prints one JSON line; tests/comfyui/test_browser.py checks it.
//   node tests/browser/readouts.mjs <server url> <workflow dir> <screenshot dir>
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [server, workflowDir, shotDir] = process.argv.slice(2);
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: FLAGS });
const result = { errors: [], page_errors: [], dialogs_open: {} };
let phase = "start";
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  page.on("pageerror", (e) => result.page_errors.push(`${phase}: ${e.stack ?? e}`));
  phase = "open";
  // A fresh user profile opens the Templates dialog over the canvas (ComfyUI 0.8.0); mark the
  // tutorial done first, and close any dialog that still shows before each screenshot.
  await fetch(`${server}/settings/Comfy.TutorialCompleted`, { method: "POST", body: "true" });
  await page.goto(server);
  await page.waitForFunction(() => window.app && window.app.graph && window.LiteGraph, null, { timeout: 120000 });
  await page.waitForTimeout(1500);

  const closeDialogs = async () => {
    for (let i = 0; i < 5; i++) {
      if (await page.locator(".p-dialog:visible").count() === 0) return 0;
      const button = page.locator(".p-dialog .p-dialog-close-button:visible").first();
      if (await button.count()) await button.click();
      else await page.keyboard.press("Escape");
      await page.waitForTimeout(300);
    }
    return page.locator(".p-dialog:visible").count();
  };
  const shoot = async (name) => {
    result.dialogs_open[name] = await closeDialogs();
    await page.screenshot({ path: join(shotDir, name) });
  };

  const readAll = () => page.evaluate(() => Object.fromEntries(window.app.graph._nodes
    .filter((n) => typeof n.longerVideoReadout === "function")
    .map((n) => [String(n.id), { type: n.comfyClass, ...n.longerVideoReadout() }])));

  // Zoom to 100% with the given node near the top left, so the read-outs are legible in the shot.
  const focus = async (nodeType) => {
    await page.evaluate((t) => {
      const node = window.app.graph._nodes.find((n) => n.comfyClass === t);
      const ds = window.app.canvas.ds;
      ds.scale = 1;
      ds.offset = [-node.pos[0] + 120, -node.pos[1] + 120];
      window.app.graph.setDirtyCanvas(true, true);
    }, nodeType);
    await page.waitForTimeout(400);
  };

  const load = async (name) => {
    phase = `load ${name}`;
    const workflow = JSON.parse(readFileSync(join(workflowDir, `${name}.json`), "utf8"));
    await page.evaluate((w) => window.app.loadGraphData(w), workflow);
    await page.waitForTimeout(500);
  };

  await load("svd_longer_video_keyframes_5_17_65");
  result.hierarchy = await readAll();
  await focus("LongerVideoKeyframeConditioning");
  await shoot("keyframes_5_17_65.png");

  await load("svd_longer_video_65_frames_freenoise");
  result.freenoise = await readAll();
  // typed values: a window longer than the video, and chunking that cannot work
  await page.evaluate(() => {
    const byType = (t) => window.app.graph._nodes.find((n) => n.comfyClass === t);
    const set = (node, name, value) => { node.widgets.find((w) => w.name === name).value = value; };
    set(byType("LongerVideoWindowedAttention"), "window_frames", 200);
    set(byType("SVD_img2vid_Conditioning"), "video_frames", 129);
    set(byType("LongerVideoChunkedDecode"), "overlap_frames", 8);
    window.app.graph.setDirtyCanvas(true, true);
    return null;
  });
  result.freenoise_changed = await readAll();
  await focus("LongerVideoTemporalPositions");
  await shoot("freenoise_warnings.png");

  phase = "add nodes";
  // a node added by hand, with a typed frames_between and no keyframes connected
  result.added = await page.evaluate(() => {
    window.app.graph.clear();
    // ids no earlier prompt used, so the frontend shows no stale outputs of the server's history
    const node = window.LiteGraph.createNode("LongerVideoKeyframeConditioning");
    node.id = 901;
    node.pos = [200, 120];
    window.app.graph.add(node);
    node.widgets.find((w) => w.name === "frames_between").value = 6;
    const decode = window.LiteGraph.createNode("LongerVideoChunkedDecode");
    decode.id = 902;
    decode.pos = [700, 120];
    window.app.graph.add(decode);
    window.app.canvas.ds.offset = [0, 0];
    window.app.canvas.ds.scale = 1;
    window.app.graph.setDirtyCanvas(true, true);
    return { keyframe: node.longerVideoReadout(), decode: decode.longerVideoReadout(),
             widgets: node.widgets.map((w) => w.name) };
  });
  await page.waitForTimeout(300);
  await shoot("added_nodes.png");
} catch (e) {
  result.errors.push(String(e?.stack ?? e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
