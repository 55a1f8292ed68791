"""Sample the toy with the unmodified diffusers `StableVideoDiffusionPipeline` loop.

The toy lives in latent space, so three instance attributes of the pipeline are replaced for the
duration of a call (and removed after it): `_encode_image` returns the given CLIP context,
`_encode_vae_image` the init latent (unscaled, SVD's concat conditioning) and `_get_add_time_ids`
each clip's own [fps - 1, motion_bucket_id, 0] (the stock helper gives one value for the whole
batch). The VAE and CLIP tower the pipeline needs to exist are tiny random stand-ins that are
never run on the sampling path; `output_type="latent"` returns the sampled (scaled) latents.
Everything else — schedule, Euler v-prediction steps, the UNet calls — is the stock loop.
"""
from __future__ import annotations

import contextlib

import torch

import toy_model
import toy_motion

STEPS = 25
PIXELS_PER_LATENT = 2  # the stand-in VAE has two levels


def build_pipeline(unet):
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    vae = AutoencoderKLTemporalDecoder(in_channels=3, out_channels=3, block_out_channels=(32, 32),
                                       down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
                                       layers_per_block=1, latent_channels=4)
    clip = CLIPVisionModelWithProjection(CLIPVisionConfig(hidden_size=8, projection_dim=toy_model.CONTEXT_DIM,
                                                          num_hidden_layers=1, num_attention_heads=2, image_size=32,
                                                          patch_size=16, intermediate_size=8))
    scheduler = EulerDiscreteScheduler(  # SVD's own scheduler config
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, interpolation_type="linear",
        num_train_timesteps=1000, prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002,
        steps_offset=1, timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True)
    pipe = StableVideoDiffusionPipeline(vae=vae, image_encoder=clip, unet=unet, scheduler=scheduler,
                                        feature_extractor=CLIPImageProcessor(crop_size=32, size=32))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def eval_context(specs) -> torch.Tensor:
    """The CLIP context: zero, as in training (the toy has no images to embed)."""
    return torch.zeros(len(specs), 1, toy_model.CONTEXT_DIM)


@contextlib.contextmanager
def toy_conditioning(pipe, concat: torch.Tensor, context: torch.Tensor, time_ids: torch.Tensor):
    def encode_image(image, device, num_videos_per_prompt, do_classifier_free_guidance):
        return _with_negative(context.to(device), do_classifier_free_guidance)

    def encode_vae_image(image, device, num_videos_per_prompt, do_classifier_free_guidance):
        return _with_negative(concat.to(device), do_classifier_free_guidance)

    def get_add_time_ids(fps, motion_bucket_id, noise_aug_strength, dtype, batch_size, num_videos_per_prompt,
                         do_classifier_free_guidance):
        return _with_negative(time_ids.to(dtype), do_classifier_free_guidance, zero=False)

    patches = {"_encode_image": encode_image, "_encode_vae_image": encode_vae_image,
               "_get_add_time_ids": get_add_time_ids}
    for name, fn in patches.items():
        setattr(pipe, name, fn)
    try:
        yield pipe
    finally:
        for name in patches:
            pipe.__dict__.pop(name, None)


def _with_negative(x, cfg: bool, zero: bool = True):
    return torch.cat([torch.zeros_like(x) if zero else x, x]) if cfg else x


def clip_inputs(specs):
    """(concat (B,4,S,S) unscaled, time ids (B,3)) for clips described by specs."""
    concat = torch.stack([toy_motion.concat_latent(toy_motion.render(s, 1)) for s in specs])
    time_ids = torch.tensor([toy_motion.added_time_ids(s) for s in specs])
    return concat, time_ids


def initial_noise(seeds, frames: int) -> torch.Tensor:
    """Unit noise per clip, (B,T,4,S,S), from each clip's seed (FreeNoise reschedules the same noise)."""
    size = toy_motion.SIZE
    return torch.cat([torch.randn(1, frames, 4, size, size, generator=torch.Generator().manual_seed(s)) for s in seeds])


@torch.no_grad()
def sample(pipe, specs, frames: int, latents: torch.Tensor, steps: int = STEPS, context=None) -> torch.Tensor:
    """Sampled latents (B,T,4,S,S) through the stock pipeline loop, no CFG (guidance 1)."""
    concat, time_ids = clip_inputs(specs)
    context = eval_context(specs) if context is None else context
    size = toy_motion.SIZE * PIXELS_PER_LATENT
    image = torch.full((len(specs), 3, size, size), 0.5)
    with toy_conditioning(pipe, concat, context, time_ids):
        out = pipe(image, height=size, width=size, num_frames=frames, num_inference_steps=steps,
                   min_guidance_scale=1.0, max_guidance_scale=1.0, latents=latents, output_type="latent",
                   decode_chunk_size=frames)
    return out.frames
