"""Latents of the training clips, encoded once and kept as safetensors, so no VAE runs while training.

One file per clip: `latents` (T, 4, h, w) unscaled VAE latents of every frame, `keyframe_latents`
(K, 4, h, w) of the keyframes encoded with the pipeline's noise augmentation (what the Keyframe
Sampler's hints are made of), `image_embeds` (1, D) the CLIP embedding of the first frame (the
sampler's default CLIP image), `added_time_ids` [fps - 1, motion_bucket_id, noise_aug_strength].
Clips already in the cache are not encoded again, so an interrupted caching run resumes.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import torch

from ..techniques.errors import InputError
from ..techniques.training_clips import TrainingClipSettings
from .lora_data import iter_clips

KEYS = ("latents", "keyframe_latents", "image_embeds", "added_time_ids")
SETTINGS_FILE = "clip_settings.json"


def clip_name(source: Path, start: int) -> str:
    digest = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:8]
    return f"{source.stem}-{digest}-{start:06d}.safetensors"


def write_cached_clip(path, latents: torch.Tensor, keyframe_latents: torch.Tensor, image_embeds: torch.Tensor,
                      added_time_ids, frames_between: int, metadata: dict | None = None) -> Path:
    """Write one cached clip (also how clips from elsewhere, e.g. synthetic latents, enter a cache)."""
    from safetensors.torch import save_file

    path = Path(path)
    frames, keyframes = latents.shape[0], keyframe_latents.shape[0]
    if (keyframes - 1) * frames_between + 1 != frames:
        raise InputError(f"{frames} frames are not ({keyframes} keyframes - 1) * {frames_between} + 1")
    tensors = {"latents": latents.to(torch.float16), "keyframe_latents": keyframe_latents.to(torch.float16),
               "image_embeds": image_embeds.reshape(1, -1).to(torch.float16),
               "added_time_ids": torch.as_tensor(added_time_ids, dtype=torch.float32).reshape(3)}
    meta = {"frames_between": str(frames_between), **{k: str(v) for k, v in (metadata or {}).items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(partial), metadata=meta)
    partial.replace(path)
    return path


def _check_settings(cache_dir: Path, settings: TrainingClipSettings) -> None:
    wanted = {k: v for k, v in vars(settings).items()}
    path = cache_dir / SETTINGS_FILE
    if path.exists():
        found = json.loads(path.read_text())
        if found != wanted:
            changed = sorted(k for k in wanted if found.get(k) != wanted[k])
            raise InputError(f"{cache_dir} holds clips cut with other settings ({', '.join(changed)} differ); "
                             f"use another cache folder")
    else:
        cache_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(wanted, indent=1))


@torch.no_grad()
def cache_training_latents(pipe, data_dir, cache_dir, settings: TrainingClipSettings = TrainingClipSettings(),
                           encode_frames: int = 8, seed: int = 0, progress: bool = True) -> int:
    """Encode every clip of `data_dir` into `cache_dir` with the pipeline's VAE and CLIP image encoder;
    returns how many clips the cache holds. Unreadable sources are skipped with a warning naming them."""
    cache_dir = Path(cache_dir)
    _check_settings(cache_dir, settings)
    device = pipe._execution_device
    vae = pipe.vae
    generator = torch.Generator().manual_seed(seed)
    bar = _progress(progress)
    for clip in iter_clips(data_dir, settings):
        path = cache_dir / clip_name(clip.source, clip.start)
        if path.exists():
            continue

        def encode(pixels):
            parts = [vae.encode(pixels[i:i + encode_frames].to(device, vae.dtype)).latent_dist.mode().float().cpu()
                     for i in range(0, pixels.shape[0], encode_frames)]
            return torch.cat(parts)

        keyframes = clip.pixels[::settings.frames_between]
        augmented = keyframes + settings.noise_aug_strength * torch.randn(keyframes.shape, generator=generator)
        # as the pipeline embeds its init image: from a PIL image (resized to 224 with antialiasing)
        first = pipe.video_processor.numpy_to_pil(pipe.video_processor.pt_to_numpy((clip.pixels[:1] + 1) / 2))
        embeds = pipe._encode_image(first, device, 1, False)
        ids = [clip.fps - 1, settings.motion_bucket_id, settings.noise_aug_strength]
        write_cached_clip(path, encode(clip.pixels), encode(augmented), embeds.float().cpu(), ids,
                          settings.frames_between, {"source": clip.source.name, "start": clip.start, "fps": clip.fps})
        bar.update(1)
    bar.close()
    return len(list(cache_dir.glob("*.safetensors")))


def _progress(enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(desc="caching clips", unit="clip", disable=not enabled)


class CachedClips:
    """The clips of a cache folder. Files that cannot be read, or whose shapes differ from the
    first good one, are skipped with a warning naming them."""

    def __init__(self, cache_dir, warn=warnings.warn):
        from safetensors import safe_open

        cache_dir = Path(cache_dir)
        if not cache_dir.is_dir():
            raise InputError(f"latent cache folder not found: {cache_dir}")
        self.paths, self.shapes, self.frames_between = [], None, None
        for path in sorted(cache_dir.glob("*.safetensors")):
            try:
                with safe_open(str(path), framework="pt") as f:
                    shapes = {k: tuple(f.get_slice(k).get_shape()) for k in KEYS}
                    frames_between = int(f.metadata()["frames_between"])
            except Exception as error:  # any unreadable file: skipped, not the run
                warn(f"skipping {path}: not a cached clip ({type(error).__name__}: {error})")
                continue
            if self.shapes is None:
                self.shapes, self.frames_between = shapes, frames_between
            elif (shapes, frames_between) != (self.shapes, self.frames_between):
                warn(f"skipping {path}: shapes {shapes} differ from the cache's {self.shapes}")
                continue
            self.paths.append(path)
        if not self.paths:
            raise InputError(f"{cache_dir} holds no cached clips: run cache_training_latents "
                             f"(scripts/train_interpolation_lora.py --data ...) first")

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def frames(self) -> int:
        return self.shapes["latents"][0]

    @property
    def latent_size(self) -> tuple[int, int]:
        return self.shapes["latents"][-2:]

    def batch(self, indices) -> dict[str, torch.Tensor]:
        from safetensors.torch import load_file

        clips = [load_file(str(self.paths[i])) for i in indices]
        return {k: torch.stack([c[k] for c in clips]) for k in KEYS}
