// Longer Video frontend extension: a live read-out under the chunked decoder's widgets, so users
// see how many new frames each decoder call yields and get a warning before queueing settings
// that cannot work. Drawn on the node (no extra widget, so saved workflows keep their layout).
import { app } from "../../scripts/app.js";
import { chunkReadout } from "./readouts.js";

const widgetValue = (node, name) => node.widgets?.find((w) => w.name === name)?.value;

app.registerExtension({
  name: "LongerVideo.ChunkedDecodeReadout",
  nodeCreated(node) {
    if (node.comfyClass !== "LongerVideoChunkedDecode") return;
    const drawOriginal = node.onDrawForeground;
    node.onDrawForeground = function (ctx) {
      drawOriginal?.apply(this, arguments);
      if (this.flags?.collapsed) return;
      const readout = chunkReadout(
        Number(widgetValue(this, "chunk_frames")),
        Number(widgetValue(this, "overlap_frames")),
        Number(widgetValue(this, "crossfade_frames")),
      );
      this.longerVideoReadout = readout;
      ctx.save();
      ctx.font = "12px sans-serif";
      ctx.fillStyle = readout.ok ? "#9c9" : "#f66";
      ctx.fillText((readout.ok ? "" : "\u26a0 ") + readout.text, 10, this.size[1] - 8);
      ctx.restore();
    };
  },
});
