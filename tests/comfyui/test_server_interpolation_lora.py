"""Server tier: an interpolation LoRA in the pack's ComfyUI key format (`diffusion_model.*.time_stack.*`,
lora_down / lora_up / alpha, fp16: what `lv.train_interpolation_lora` saves), loaded by the stock
LoraLoaderModelOnly in a real server onto the keyframe stage of the loop example: every key matched
(no "lora key not loaded" in the server's log) and the LoRA changes the stage's output."""
import torch
from safetensors.torch import load_file, save_file
from server_prompts import api_twin, saved_latent, tiny, with_saved_latents

from longer_video.nodes.techniques.lora_keys import TARGETS

LORA_NAME = "lv_test_interpolation.safetensors"
LOOP = "svd_longer_video_loop_from_one_image"
KEYFRAME_SAMPLER = "16"


def interpolation_lora(checkpoint) -> dict[str, torch.Tensor]:
    """Rank-2 random factors on every temporal target linear of the checkpoint's UNet."""
    g = torch.Generator().manual_seed(0)
    lora = {}
    for name, weight in load_file(str(checkpoint)).items():
        module = name.removeprefix("model.").removesuffix(".weight")
        if not (name.startswith("model.diffusion_model.") and ".time_stack.0." in name and name.endswith(".weight")
                and weight.ndim == 2 and module.split(".time_stack.0.")[-1] in TARGETS):
            continue
        lora[module + ".lora_down.weight"] = (torch.randn(2, weight.shape[1], generator=g) * 0.5).half()
        lora[module + ".lora_up.weight"] = (torch.randn(weight.shape[0], 2, generator=g) * 0.5).half()
        lora[module + ".alpha"] = torch.tensor(2.0, dtype=torch.float16)
    return lora


def with_lora(prompt: dict, strength: float) -> dict:
    """The loop's keyframe stage samples with the LoRA (node 60) on the checkpoint's MODEL.

    Test size: 4 frames between keyframes (17 instead of 33) and no decode or video: only the stage's
    latent is compared."""
    prompt["13"]["inputs"]["frames_between"] = 4
    for node in ("7", "8", "9", "10"):
        del prompt[node]
    prompt["60"] = {"class_type": "LoraLoaderModelOnly",
                    "inputs": {"model": ["1", 0], "lora_name": LORA_NAME, "strength_model": strength}}
    prompt[KEYFRAME_SAMPLER]["inputs"]["model"] = ["60", 0]
    return prompt


def test_the_stock_lora_loader_in_a_server_loads_every_key_and_the_lora_acts(server, tiny_checkpoint):
    lora = interpolation_lora(tiny_checkpoint)
    targets = {key.split(".time_stack.0.")[1].rsplit(".lora_", 1)[0].removesuffix(".alpha") for key in lora}
    assert targets == set(TARGETS)  # every layer the trainer adapts, in every temporal transformer
    (server.base / "models" / "loras").mkdir(parents=True, exist_ok=True)
    save_file(lora, str(server.base / "models" / "loras" / LORA_NAME))
    log_start = len(server.log())
    outputs = {}
    for strength in (1.0, 0.0):
        prompt = with_saved_latents(with_lora(tiny(api_twin(LOOP)), strength), {f"lora_{strength}": KEYFRAME_SAMPLER})
        outputs[strength] = saved_latent(server, server.run(prompt, timeout=900), "90")
    log = server.log()[log_start:]
    assert "lora key not loaded" not in log and "NOT LOADED" not in log, log[-3000:]
    assert outputs[1.0].shape == outputs[0.0].shape
    assert (outputs[1.0] - outputs[0.0]).abs().max() > 1e-3  # the LoRA patched the weights the stage sampled with
