"""Module tier: an interpolation LoRA file, keyed as the pack writes it, through ComfyUI's stock
LoraLoaderModelOnly (nodes.py) onto SVD-layout models: every key matched, no "lora key not loaded",
and the patched weights are W + strength * alpha / rank * up @ down, which `lv.load_interpolation_lora`
merges on the diffusers side."""
import logging

import pytest
import torch
from comfy_models import build_svd_model, model_patcher, svd_xt_unet_config, tiny_unet_config

from longer_video.nodes.techniques.lora_keys import TARGETS, comfy_key

RANK, ALPHA = 4, 2.0

# diffusers' names of the spatio-temporal transformers in the two layouts
TINY_TRANSFORMERS = ["down_blocks.0.attentions.0", "mid_block.attentions.0", "up_blocks.1.attentions.0",
                     "up_blocks.1.attentions.1"]  # tiny_unet_config: 1 layer per block, transformers on level 0
SVD_XT_TRANSFORMERS = ([f"down_blocks.{level}.attentions.{j}" for level in range(3) for j in range(2)]
                       + ["mid_block.attentions.0"]
                       + [f"up_blocks.{level}.attentions.{j}" for level in (1, 2, 3) for j in range(3)])


def lora_file(transformers, layers_per_block, shapes, seed=0) -> dict[str, torch.Tensor]:
    """What lora_format.save_lora writes for LoRA layers on every target of these transformers."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for transformer in transformers:
        for target in TARGETS:
            key = comfy_key(f"{transformer}.temporal_transformer_blocks.0.{target}", layers_per_block)
            out_features, in_features = shapes(key)
            sd[key + ".lora_down.weight"] = (torch.randn(RANK, in_features, generator=g) * 0.1).half()
            sd[key + ".lora_up.weight"] = (torch.randn(out_features, RANK, generator=g) * 0.1).half()
            sd[key + ".alpha"] = torch.tensor(ALPHA, dtype=torch.float16)
    return sd


def temporal_linears(model) -> dict[str, torch.nn.Module]:
    """`diffusion_model.*.time_stack.*` linear layers of the LoRA's targets in ComfyUI's model."""
    return {f"diffusion_model.{name}": m for name, m in model.diffusion_model.named_modules()
            if ".time_stack." in name and isinstance(m, torch.nn.Linear) and name.split(".time_stack.0.")[-1] in TARGETS}


@pytest.fixture
def lora_loader(tmp_path):
    import folder_paths
    import nodes

    folder_paths.add_model_folder_path("loras", str(tmp_path))
    return tmp_path, nodes.LoraLoaderModelOnly()


def test_the_stock_lora_loader_matches_every_key_and_merges_the_pack_formula(lora_loader, caplog):
    from safetensors.torch import save_file

    folder, loader = lora_loader
    model = build_svd_model(tiny_unet_config())
    linears = temporal_linears(model)
    sd = lora_file(TINY_TRANSFORMERS, 1, lambda key: tuple(linears[key].weight.shape))
    assert {k.rsplit(".", 2)[0] if k.endswith(".weight") else k.rsplit(".", 1)[0] for k in sd} == set(linears)
    save_file(sd, str(folder / "interpolation.safetensors"))
    stock = {key: m.weight.detach().clone() for key, m in linears.items()}
    with caplog.at_level(logging.WARNING):
        (patched,) = loader.load_lora_model_only(model_patcher(model), "interpolation.safetensors", 0.5)
    assert not [r for r in caplog.records if "lora key not loaded" in r.getMessage() or "NOT LOADED" in r.getMessage()]
    assert set(patched.patches) == {key + ".weight" for key in linears}  # every temporal target, nothing else
    patched.patch_model()
    try:
        for key, module in linears.items():
            down, up = sd[key + ".lora_down.weight"].float(), sd[key + ".lora_up.weight"].float()
            expected = stock[key] + 0.5 * ALPHA / RANK * up @ down
            torch.testing.assert_close(module.weight, expected, atol=1e-6, rtol=1e-5)
    finally:
        patched.unpatch_model()


def test_every_key_of_an_svd_xt_lora_maps_in_comfyuis_key_map():
    """SVD-XT's layout (2 layers per block, 16 transformers) on the meta device: ComfyUI's own key map
    (comfy.lora.model_lora_keys_unet, what load_lora_for_models uses) takes every key of the file."""
    import comfy.lora

    model = build_svd_model(svd_xt_unet_config(), device="meta")
    linears = temporal_linears(model)
    assert len(linears) == 16 * len(TARGETS)
    sd = lora_file(SVD_XT_TRANSFORMERS, 2, lambda key: (1, 1))  # the key map does not look at shapes
    key_map = comfy.lora.model_lora_keys_unet(model, {})
    unmatched = [k for k in sd if k.endswith(".lora_up.weight") and k[:-len(".lora_up.weight")] not in key_map]
    assert not unmatched, unmatched[:3]
    loaded = comfy.lora.load_lora(sd, key_map)
    assert set(loaded) == {key + ".weight" for key in linears}


def test_a_toy_lora_widened_into_comfyuis_layout_patches_the_weights_the_merged_toy_widens_to():
    """The widened toy (tests/quality/to_comfy.py) runs the toy's numbers in ComfyUI's SVD UNet. A LoRA
    on the toy, widened by the same rules and patched by ComfyUI's own LoRA code, gives exactly the
    wide weights of the toy with that LoRA merged, as lv.load_interpolation_lora merges it in diffusers:
    so both hosts run the same model (the widened toy's outputs equal the toy's: bench_quality_comfy)."""
    import comfy.lora
    from lora_widen import widen_lora  # puts tests/quality on sys.path
    from safetensors.torch import load_file

    import toy_model
    from comfy_checkpoint import wide_model_config, wide_reference
    from to_comfy import convert

    from longer_video.nodes.techniques.lora_keys import target_of

    toy = {k: v.float() for k, v in load_file(str(toy_model.WEIGHTS)).items()}
    g = torch.Generator().manual_seed(3)
    lora = {}
    for key, weight in toy.items():
        name = key[:-len(".weight")]
        if key.endswith(".weight") and weight.dim() == 2 and target_of(name) is not None:
            lora[name] = (torch.randn(RANK, weight.shape[1], generator=g) * 0.05,
                          torch.randn(weight.shape[0], RANK, generator=g) * 0.05, ALPHA)
    assert len(lora) == 4 * len(TARGETS)  # the toy's 4 temporal blocks
    merged = dict(toy)
    for name, (down, up, alpha) in lora.items():
        merged[name + ".weight"] = toy[name + ".weight"] + alpha / RANK * up @ down
    reference = wide_reference()
    wide, wide_merged = convert(toy, toy_model.CONFIG, reference), convert(merged, toy_model.CONFIG, reference)
    wide_model = wide_model_config().get_model({}, device="meta")
    loaded = comfy.lora.load_lora(widen_lora(lora, toy, toy_model.CONFIG), comfy.lora.model_lora_keys_unet(wide_model, {}))
    assert len(loaded) == 4 * (len(TARGETS) - 2)  # every key taken (the cross-attention k/v stay zero)
    for key, patch in loaded.items():
        weight = comfy.lora.calculate_weight([(1.0, patch, 1.0, None, None)], wide["model." + key].clone(), key)
        torch.testing.assert_close(weight, wide_merged["model." + key], atol=1e-6, rtol=1e-5)
    changed = [k for k in wide if not torch.equal(wide[k], wide_merged[k])]
    assert {k[len("model."):] for k in changed} == set(loaded)  # nothing else differs
