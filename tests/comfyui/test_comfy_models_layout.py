"""The test models have SVD's layout as ComfyUI's own detection reads it from the weights."""
import pytest
from comfy_models import build_svd_model, svd_unet_config


@pytest.mark.parametrize("channel_mult", [(1, 1, 1, 1), (1, 2, 4, 4)])
def test_detection_reads_back_the_config_the_tests_build(channel_mult):
    import comfy.model_detection

    config = svd_unet_config(channel_mult=channel_mult)
    unet = build_svd_model(config, device="meta").diffusion_model
    state_dict = {f"model.diffusion_model.{k}": v for k, v in unet.state_dict().items()}
    detected = comfy.model_detection.detect_unet_config(state_dict, "model.diffusion_model.")
    for key in ("channel_mult", "transformer_depth", "transformer_depth_output", "num_res_blocks", "model_channels"):
        assert detected[key] == config[key], key
    # real SVD-XT: transformers in the top three output levels, none in the deepest
    if channel_mult == (1, 2, 4, 4):
        assert config["transformer_depth_output"] == [1] * 9 + [0] * 3
