"""`train_interpolation_lora`: a LoRA on SVD's temporal layers, trained in the keyframe regime.

The loss and the batch are `techniques/interpolation_training.py`'s; this module runs them on a
diffusers UNet: base weights frozen in fp16 / bf16, peft LoRA layers in fp32, the pack's windowed
attention and frame chunking for long clips, gradient checkpointing (`training_checkpointing.py`),
8-bit AdamW where bitsandbytes and a GPU are present, AdamW otherwise. Every `save_every` steps it
writes the LoRA so far (`<out>.steps/step-NNNNNN.safetensors`, usable as it is) and the state a stopped
run resumes from (`<out>.steps/state.safetensors`). When it returns, the UNet is as it was (LoRA
layers and patches removed) apart from its precision.
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..techniques.interpolation_training import LoraTrainingSettings, training_batch, v_loss
from .frame_chunking import apply_frame_chunking, remove_frame_chunking
from .lora_adapter import add_lora, remove_lora
from .lora_cache import CachedClips
from .lora_format import layers_per_block, save_lora
from .lora_resume import load_state, save_state
from .training_checkpointing import disable_training_checkpointing, enable_training_checkpointing
from .video_transformer import require_svd_unet, unet_of
from .windowed_attention import apply_windowed_attention, remove_windowed_attention

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}
WARMUP_STEPS = 100


@dataclass
class TrainingResult:
    path: Path
    steps: int  # the step the run ended at (resumed runs count from where they started)
    losses: list  # (step, loss) of the steps this call ran
    seconds_per_step: float


def make_optimizer(params, settings: LoraTrainingSettings, device: torch.device):
    """8-bit AdamW (bitsandbytes) when asked for or, with `auto`, when it and a GPU are there; AdamW otherwise."""
    want_8bit = settings.optimizer == "adamw8bit" or (settings.optimizer == "auto" and device.type == "cuda")
    if want_8bit and device.type == "cuda":
        try:
            import bitsandbytes as bnb  # optional: imported only with a GPU
        except ImportError:
            if settings.optimizer == "adamw8bit":
                raise
        else:
            return bnb.optim.AdamW8bit(params, lr=settings.learning_rate, weight_decay=0.01)
    return torch.optim.AdamW(params, lr=settings.learning_rate, weight_decay=0.01)


def settings_json(settings: LoraTrainingSettings, clips: CachedClips) -> str:
    fields = {k: v for k, v in dataclasses.asdict(settings).items() if k not in ("steps", "save_every")}
    return json.dumps({**fields, "frames": clips.frames, "frames_between": clips.frames_between}, sort_keys=True,
                      default=str)


def steps_dir(out_path: Path) -> Path:
    return out_path.with_name(out_path.name + ".steps")


def _batches(count: int, batch_size: int, generator: torch.Generator):
    """Indices of each batch: a fresh permutation per epoch, from the (resumable) data generator."""
    while True:
        order = torch.randperm(count, generator=generator).tolist()
        for start in range(0, count - batch_size + 1 if count >= batch_size else 1, batch_size):
            yield [order[(start + i) % count] for i in range(batch_size)]


def _progress(enabled: bool, start: int, total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=start, desc="training LoRA", unit="step", disable=not enabled)


def train_interpolation_lora(pipe_or_unet, latents_dir, out_path, settings: LoraTrainingSettings = LoraTrainingSettings(),
                             resume: bool = True, progress: bool = True, device=None) -> TrainingResult:
    """Train a LoRA on the cached clips in `latents_dir` (`cache_training_latents`) and write it to
    `out_path` in ComfyUI's LoRA format. With `resume`, a run stopped at a checkpoint goes on from there."""
    unet = unet_of(pipe_or_unet)
    require_svd_unet(unet)
    out_path = Path(out_path)
    clips = CachedClips(latents_dir)
    device = torch.device(device) if device is not None else next(unet.parameters()).device
    dtype = DTYPES[settings.precision]
    if unet.device != device or unet.dtype != dtype:
        unet.to(device=device, dtype=dtype)
    was_training = unet.training
    params = add_lora(unet, settings)
    if settings.windows is not None:
        apply_windowed_attention(unet, settings.windows)
    if settings.frame_chunking is not None:
        apply_frame_chunking(unet, settings.frame_chunking)
    enable_training_checkpointing(unet, settings.checkpointing)
    unet.train()
    try:
        return _train(unet, clips, out_path, settings, params, device, dtype, resume, progress)
    finally:
        disable_training_checkpointing(unet)
        if settings.frame_chunking is not None:
            remove_frame_chunking(unet)
        if settings.windows is not None:
            remove_windowed_attention(unet)
        remove_lora(unet)
        unet.train(was_training)


def _train(unet, clips, out_path, settings, params, device, dtype, resume, progress) -> TrainingResult:
    optimizer = make_optimizer(params, settings, device)
    warmup = min(WARMUP_STEPS, max(1, settings.steps // 10))
    generator = torch.Generator().manual_seed(settings.seed)
    config = settings_json(settings, clips)
    state_path = steps_dir(out_path) / "state.safetensors"
    step = load_state(state_path, unet, optimizer, generator, config) if resume and state_path.exists() else 0
    metadata = {"settings": json.loads(config), "layers_per_block": layers_per_block(unet), "clips": len(clips)}
    batches = _batches(len(clips), settings.batch_size, generator)
    losses, started, ran = [], time.perf_counter(), 0
    bar = _progress(progress, step, settings.steps)
    while step < settings.steps:
        for group in optimizer.param_groups:  # linear warmup, then constant (a function of the step: resumable)
            group["lr"] = settings.learning_rate * min(1.0, (step + 1) / warmup)
        data = clips.batch(next(batches))
        batch = training_batch(data["latents"], data["keyframe_latents"], data["image_embeds"], data["added_time_ids"],
                               clips.frames_between, settings, generator)
        prediction = unet(batch.sample.to(device, dtype), batch.timestep.to(device),
                          batch.encoder_hidden_states.to(device, dtype), batch.added_time_ids.to(device, dtype)).sample
        loss = v_loss(prediction, batch.target.to(device), batch.frame_weights.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, settings.max_grad_norm)
        optimizer.step()
        step, ran = step + 1, ran + 1
        losses.append((step, loss.item()))
        seconds = (time.perf_counter() - started) / ran
        bar.set_postfix(loss=f"{losses[-1][1]:.4f}", s_per_step=f"{seconds:.2f}")
        bar.update(1)
        if step % settings.save_every == 0 or step == settings.steps:
            save_lora(unet, steps_dir(out_path) / f"step-{step:06d}.safetensors", {**metadata, "step": step})
            save_state(state_path, unet, optimizer, step, generator, config)
    bar.close()
    save_lora(unet, out_path, {**metadata, "step": step})
    seconds = (time.perf_counter() - started) / max(ran, 1)
    return TrainingResult(path=out_path, steps=step, losses=losses, seconds_per_step=seconds)
