"""Run by scripts/packaging_check.sh inside a fresh virtualenv holding only the built wheel (+ extras).

Usage: python wheel_smoke.py SCRIPTS_DIR   (SCRIPTS_DIR gives the tiny test pipeline builder, not the pack)
Fails unless `longer_video` comes from site-packages and its diffusers API runs end to end.
"""
import logging
import sys
import sysconfig
from pathlib import Path

import torch

import longer_video as lv

site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
assert Path(lv.__file__).resolve().is_relative_to(site_packages), f"longer_video imported from {lv.__file__}"
assert {name for name in dir(lv) if not name.startswith("_")} == set(lv.__all__), dir(lv)  # the API, nothing else
assert lv.WEB_DIRECTORY and callable(lv.comfy_entrypoint)  # what ComfyUI reads stays reachable
sys.path.insert(0, sys.argv[1])
# Known and harmless, as in the demo (scripts/demo.py says why): transformers' one line that CLIPImageProcessor
# uses its PIL backend without torchvision, and the sampling bars, which in a log are \r-joined smears.
logging.getLogger("transformers.utils.import_utils").addFilter(lambda record: "requires torchvision" not in record.getMessage())
from tiny_svd_pipeline import build_tiny_svd_pipeline  # noqa: E402

pipe = build_tiny_svd_pipeline(seed=0, trained_frames=8)
pipe.set_progress_bar_config(disable=True)
frames, size = 20, 32
image = pipe.video_processor.numpy_to_pil(torch.rand(1, size, size, 3, generator=torch.Generator().manual_seed(0)).numpy())[0]


def run():
    with torch.no_grad():
        return pipe(image, height=size, width=size, num_frames=frames, num_inference_steps=2, output_type="pt",
                    generator=torch.Generator().manual_seed(0)).frames[0]


stock = run()
patched_modules = lv.apply_temporal_positions(pipe, lv.PositionSettings("yarn", trained_frames=8))
lv.apply_windowed_attention(pipe, lv.WindowSettings(window_frames=8, stride_frames=4))
lv.apply_chunked_decode(pipe, lv.ChunkSettings(chunk_frames=8, overlap_frames=2, crossfade_frames=2))
video = run()
assert patched_modules > 0 and video.shape == stock.shape == (frames, 3, size, size), video.shape
assert (video - stock).abs().max() > 1e-4, "the patches did not change a longer-than-trained video"
lv.remove_temporal_positions(pipe), lv.remove_windowed_attention(pipe), lv.remove_chunked_decode(pipe)
assert torch.equal(run(), stock), "removing the patches did not give the stock pipeline back"
print(f"wheel smoke: longer_video {Path(lv.__file__).parent} ran {frames} frames with positions, windows and "
      f"chunked decoding on {patched_modules} temporal transformers")
