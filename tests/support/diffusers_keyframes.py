"""What the diffusers keyframe tests share: tiny keyframe images, one `interpolate_keyframes` call, the pinned latents."""
import torch

import longer_video as lv
from longer_video.nodes.diffusers_patches.keyframe_interpolation import encode_keyframes

SIZE = 32


def random_keyframes(count: int = 3) -> torch.Tensor:
    return torch.rand(count, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))


def interpolate(pipe, keyframes, settings, sampling=None, seed: int = 5, steps: int = 2, **kwargs) -> torch.Tensor:
    """The latent frames of one call at SIZE, no augmentation noise, the generator seeded with `seed`."""
    kwargs = dict(dict(size=lv.FrameSize(SIZE, SIZE), num_inference_steps=steps, noise_aug_strength=0.0,
                       output_type="latent", generator=torch.Generator().manual_seed(seed)), **kwargs)
    if sampling is not None:
        kwargs["sampling"] = sampling
    with torch.no_grad():
        return lv.interpolate_keyframes(pipe, keyframes, settings, **kwargs).frames


def as_pil(pipe, images):
    return pipe.video_processor.numpy_to_pil(pipe.video_processor.pt_to_numpy(images))


def scaled_keyframes(pipe, keyframes):
    """The keyframes as the pipeline pins them: encoded at SIZE, in the sampled (scaled) latent space."""
    clean, _ = encode_keyframes(pipe, as_pil(pipe, keyframes), lv.FrameSize(SIZE, SIZE))
    return clean * pipe.vae.config.scaling_factor
