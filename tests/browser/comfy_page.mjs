// Open the ComfyUI frontend a server serves, in headless Debian chromium driven by playwright-core,
// in the classic canvas node design or the Vue one ("Nodes 2.0"), ready to load workflows.
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
export const VIEWPORT = { width: 1600, height: 1000 };
export const LOD_DEFAULT = 8;

// In the page: the level-of-detail font size threshold (0 draws node text at every zoom).
export async function setLodThreshold(page, px) {
  await page.evaluate((v) => window.app.extensionManager.setting.set("LiteGraph.Canvas.MinFontSizeForLOD", v), px);
}

export async function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: FLAGS });
}

async function setting(server, id, value) {
  await fetch(`${server}/settings/${id}`, { method: "POST", body: JSON.stringify(value) });
}

// design: "canvas" or "vue". Settings are stored per user on the server, so they are set before
// the page loads (a fresh profile would also open the Templates dialog: the tutorial is marked done).
export async function openComfy(browser, server, design, pageErrors) {
  await setting(server, "Comfy.TutorialCompleted", true);
  await setting(server, "Comfy.VueNodes.Enabled", design === "vue");
  // The frontend's default level-of-detail threshold (8 px): node text is drawn only from about 57 %
  // zoom, so screenshots show what a user sees when a workflow opens.
  await setting(server, "LiteGraph.Canvas.MinFontSizeForLOD", LOD_DEFAULT);
  const page = await browser.newPage({ viewport: VIEWPORT, deviceScaleFactor: 2 });
  page.on("pageerror", (e) => pageErrors.push(`${design}: ${e.stack ?? e}`));
  await page.goto(server, { timeout: 180000 });  // a loaded 2-core machine serves the frontend slowly
  await page.waitForFunction(() => window.app && window.app.graph && window.LiteGraph, null, { timeout: 120000 });
  await page.waitForTimeout(1500);
  await closeDialogs(page);
  return page;
}

export async function closeDialogs(page) {
  for (let i = 0; i < 5; i++) {
    if (await page.locator(".p-dialog:visible").count() === 0) return 0;
    const button = page.locator(".p-dialog .p-dialog-close-button:visible").first();
    if (await button.count()) await button.click();
    else await page.keyboard.press("Escape");
    await page.waitForTimeout(300);
  }
  return page.locator(".p-dialog:visible").count();
}

export const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));

// Load a UI workflow as the template browser does, and wait for image previews and read-outs.
export async function loadWorkflow(page, workflow, name) {
  await page.evaluate(([w, n]) => window.app.loadGraphData(w, true, true, n), [workflow, name]);
  await page.waitForTimeout(1500);
}

// Show the whole graph (groups included) in the window, as a user's "fit view" would.
export async function fitView(page) {
  await page.evaluate(() => {
    const { app } = window;
    const boxes = [...app.graph._nodes.map((n) => [n.pos[0], n.pos[1] - 30, n.size[0], n.size[1] + 30]),
      ...(app.graph._groups ?? app.graph.groups ?? []).map((g) => [g.pos[0], g.pos[1], g.size[0], g.size[1]])];
    const left = Math.min(...boxes.map((b) => b[0])), top = Math.min(...boxes.map((b) => b[1]));
    const right = Math.max(...boxes.map((b) => b[0] + b[2])), bottom = Math.max(...boxes.map((b) => b[1] + b[3]));
    const canvas = app.canvas.canvas;
    const [width, height] = [canvas.clientWidth - 120, canvas.clientHeight - 140];  // side bar, top bar
    const scale = Math.min(width / (right - left), height / (bottom - top), 1);
    app.canvas.ds.scale = scale;
    app.canvas.ds.offset = [90 / scale - left, 110 / scale - top];
    app.canvas.setDirty(true, true);
  });
  await page.waitForTimeout(800);
}
