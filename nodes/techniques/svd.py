"""SVD facts every technique and adapter shares: latent layout, micro-conditioning, frame size."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError

LATENT_CHANNELS = 4  # SVD's VAE latent has 4 channels
VAE_SCALE_FACTOR = 8  # ... at 1/8 of the pixel size


@dataclass(frozen=True)
class MicroConditioning:
    """SVD's per-video conditioning (`added_time_ids` in diffusers, `y` in ComfyUI)."""

    motion_bucket_id: int = 127
    fps: int = 6
    augmentation_level: float = 0.0

    def __post_init__(self):
        if self.motion_bucket_id < 0:
            raise InputError(f"motion_bucket_id must be >= 0; got {self.motion_bucket_id}")
        if self.fps < 1:
            raise InputError(f"fps must be >= 1; got {self.fps}")
        if self.augmentation_level < 0:
            raise InputError(f"augmentation_level must be >= 0; got {self.augmentation_level}")


@dataclass(frozen=True)
class FrameSize:
    """Video size in pixels; the VAE needs multiples of its scale factor."""

    width: int = 1024
    height: int = 576

    def __post_init__(self):
        for name, value in (("width", self.width), ("height", self.height)):
            if value < VAE_SCALE_FACTOR or value % VAE_SCALE_FACTOR:
                raise InputError(f"{name} must be a positive multiple of {VAE_SCALE_FACTOR} (the VAE downsamples by "
                                 f"{VAE_SCALE_FACTOR}); got {value}")

    @property
    def latent_size(self) -> tuple[int, int]:
        """(h, w) of the latent."""
        return self.height // VAE_SCALE_FACTOR, self.width // VAE_SCALE_FACTOR
