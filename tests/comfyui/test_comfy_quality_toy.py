"""Module tier: the quality toy at its own width in ComfyUI's SVD classes (the test-only node the
ComfyUI quality bench samples with) computes what the widened checkpoint computes, the one that
ComfyUI's own loader detects as SVD. The bench's agreement check then ties both to diffusers."""
import importlib.util
from pathlib import Path

import torch

QUALITY = Path(__file__).resolve().parents[1] / "quality"


def node_module():
    spec = importlib.util.spec_from_file_location("longer_video_test_toy", QUALITY / "comfy_toy_node" / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_narrow_toy_node_computes_what_the_detected_wide_checkpoint_computes():
    module = node_module()
    import toy_model

    patcher, = module.LongerVideoTestNarrowToy().load(str(toy_model.WEIGHTS))
    narrow = patcher.model.diffusion_model
    assert narrow.model_channels == toy_model.CONFIG["block_out_channels"][0]
    from comfy_checkpoint import toy_comfy_model

    wide = toy_comfy_model().diffusion_model  # the UNet ImageOnlyCheckpointLoader builds from the widened file
    assert wide.model_channels == 320
    frames = 5
    g = torch.Generator().manual_seed(0)
    x = torch.randn(frames, 8, 16, 16, generator=g)
    kwargs = dict(context=torch.randn(frames, 1, 1024, generator=g), y=torch.randn(frames, 768, generator=g),
                  num_video_frames=frames, image_only_indicator=torch.zeros(1, frames))
    with torch.no_grad():
        for sigma in (0.05, 3.0):
            t = torch.full((frames,), sigma)
            expected = wide(x, t, **kwargs)
            got = narrow(x, t, **kwargs)
            assert expected.abs().mean() > 1e-2  # the toy does something at this noise level
            torch.testing.assert_close(got, expected, atol=5e-5, rtol=1e-4)
