"""Train an interpolation LoRA for SVD / SVD-XT: the Keyframe Sampler's regime, learned.

Clips of (keyframes-1)*frames_between+1 frames are cut from a folder of videos (or of frame
folders), encoded once into a latent cache (the VAE is not in the training loop), and a LoRA on the
UNet's temporal layers learns to fill the frames between keyframes from per-frame keyframe hints.
The result is one safetensors file in ComfyUI's LoRA format: load it with the stock
LoraLoaderModelOnly onto the SVD MODEL (strength 1.0), or with lv.load_interpolation_lora(pipe, path).

    python scripts/train_interpolation_lora.py --model ./stable-video-diffusion-img2vid-xt --data ./videos \\
        --out ./svd_xt_interpolation.safetensors --keyframes 17 --frames-between 4   # 65-frame clips, 24 GB card

Progress shows the loss and seconds per step; the LoRA so far and the run's state are saved every
--save-every steps to <out>.steps/, and running the same command again resumes from there.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pack_import import import_pack

import_pack()  # this checkout as `longer_video`


def build_parser() -> argparse.ArgumentParser:
    from longer_video.nodes.techniques.interpolation_training import (
        CHECKPOINTING, OPTIMIZERS, PINNED_INPUTS, PRECISIONS, LoraTrainingSettings,
    )
    from longer_video.nodes.techniques.lora_keys import TARGETS
    from longer_video.nodes.techniques.training_clips import VIDEO_SUFFIXES, TrainingClipSettings

    c, t = TrainingClipSettings(), LoraTrainingSettings()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    io = p.add_argument_group("model, data and output")
    io.add_argument("--model", help="a diffusers StableVideoDiffusionPipeline folder (SVD or SVD-XT); its VAE and "
                                    "CLIP image encoder cache the clips, its UNet is trained")
    io.add_argument("--unet", help="a diffusers UNetSpatioTemporalConditionModel folder to train instead of "
                                   "--model's (then --latents must already hold the cached clips)")
    io.add_argument("--data", help="folder of videos (" + ", ".join(VIDEO_SUFFIXES)
                    + ") and/or folders of frames; unreadable files are skipped with a warning")
    io.add_argument("--latents", help="latent cache folder (default: <out>.latents); clips already there are not "
                                      "encoded again")
    io.add_argument("--out", required=True, help="the LoRA file to write (.safetensors)")
    io.add_argument("--device", default="auto", help="auto (CUDA when present, else CPU), cpu, cuda, cuda:1, ...")
    io.add_argument("--no-resume", action="store_true", help="start from step 0 even if <out>.steps/ holds a run")
    io.add_argument("--no-progress", action="store_true", help="no progress bars")

    clips = p.add_argument_group("clips (used when caching)")
    clips.add_argument("--keyframes", type=int, default=c.keyframes,
                       help=f"K keyframes per clip, >= 2 (default {c.keyframes}); a clip is (K-1)*k+1 frames")
    clips.add_argument("--frames-between", type=int, default=c.frames_between,
                       help=f"k, frames from one keyframe to the next, >= 1 (default {c.frames_between}): "
                            "as the Keyframe Conditioning node's frames_between")
    clips.add_argument("--fps", type=float, default=c.fps,
                       help=f"frame rate clips are resampled to, > 0 (default {c.fps:g}); 0 keeps each video's own")
    clips.add_argument("--stride", type=int, default=None,
                       help="frames (at --fps) between the starts of two clips, >= 1 (default: one clip length)")
    clips.add_argument("--width", type=int, default=c.width, help=f"training width, a multiple of 8 (default {c.width})")
    clips.add_argument("--height", type=int, default=c.height,
                       help=f"training height, a multiple of 8 (default {c.height}); frames are scaled to cover "
                            "and centre-cropped")
    clips.add_argument("--folder-fps", type=float, default=c.folder_fps,
                       help=f"the frame rate of frame folders, > 0 (default {c.folder_fps:g})")
    clips.add_argument("--motion-bucket-id", type=int, default=c.motion_bucket_id,
                       help=f"SVD's motion conditioning for every clip, 0-255 (default {c.motion_bucket_id})")
    clips.add_argument("--noise-aug-strength", type=float, default=c.noise_aug_strength,
                       help=f"noise on the keyframe images before encoding their hints, >= 0 (default "
                            f"{c.noise_aug_strength}, the pipeline's)")

    train = p.add_argument_group("training")
    train.add_argument("--steps", type=int, default=t.steps, help=f"optimizer steps, >= 1 (default {t.steps})")
    train.add_argument("--lr", type=float, default=t.learning_rate, help=f"learning rate (default {t.learning_rate:g})")
    train.add_argument("--batch-size", type=int, default=t.batch_size, help=f"clips per step (default {t.batch_size})")
    train.add_argument("--rank", type=int, default=t.rank, help=f"LoRA rank, >= 1 (default {t.rank})")
    train.add_argument("--alpha", type=float, default=None, help="LoRA alpha, > 0 (default: the rank, scale 1)")
    train.add_argument("--targets", default=",".join(t.targets),
                       help="comma-separated layers of each temporal block, of: " + ", ".join(TARGETS)
                            + " (default: all)")
    train.add_argument("--hint", default=t.hint, choices=("hold", "nearest"),
                       help="which keyframe each frame's concat hint is: hold (the one at or before) or nearest "
                            "(as the node; default hold)")
    train.add_argument("--pinned-input", default=t.pinned_input, choices=PINNED_INPUTS,
                       help="keyframes in the UNet input: noised (z + sigma*eps, what the Keyframe Sampler feeds; "
                            "default) or clean (z); either way they carry no loss")
    train.add_argument("--p-mean", type=float, default=t.p_mean, help=f"log-normal sigma mean (default SVD's {t.p_mean})")
    train.add_argument("--p-std", type=float, default=t.p_std, help=f"log-normal sigma std (default SVD's {t.p_std})")
    train.add_argument("--conditioning-dropout", type=float, default=t.conditioning_dropout,
                       help=f"p of each of: CLIP embedding dropped, both dropped, hints dropped; 0-1/3 "
                            f"(default {t.conditioning_dropout})")
    train.add_argument("--precision", default="auto", choices=("auto",) + PRECISIONS,
                       help="base weights' precision: auto = fp16 on CUDA, fp32 on the CPU (LoRA factors are fp32)")
    train.add_argument("--optimizer", default=t.optimizer, choices=OPTIMIZERS,
                       help="auto: 8-bit AdamW when bitsandbytes and a GPU are present, else AdamW")
    train.add_argument("--checkpointing", default=t.checkpointing, choices=CHECKPOINTING,
                       help="gradient checkpointing: full (least memory, default), diffusers (the UNet's own), none")
    train.add_argument("--windows", default="banded", choices=("none", "banded", "block"),
                       help="windowed temporal attention for clips longer than --window-frames (default banded)")
    train.add_argument("--window-frames", type=int, default=25, help="window length in frames (default 25: SVD-XT)")
    train.add_argument("--window-stride", type=int, default=4, help="block mode: frames between windows (default 4)")
    train.add_argument("--frame-chunking", type=int, default=0,
                       help="frames per chunk for the UNet's per-frame work (0: off, default); lowers peak memory")
    train.add_argument("--save-every", type=int, default=t.save_every,
                       help=f"steps between checkpoints in <out>.steps/ (default {t.save_every})")
    train.add_argument("--seed", type=int, default=t.seed, help=f"seed of data order, noise and dropout (default {t.seed})")
    return p


def settings_from(args):
    import torch

    from longer_video.nodes.techniques.frame_chunking import FrameChunkingSettings
    from longer_video.nodes.techniques.interpolation_training import LoraTrainingSettings
    from longer_video.nodes.techniques.windowed_attention import WindowSettings

    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    precision = args.precision if args.precision != "auto" else ("fp16" if device.type == "cuda" else "fp32")
    windows = None if args.windows == "none" else WindowSettings(args.window_frames, args.window_stride, "pyramid",
                                                                  args.windows)
    settings = LoraTrainingSettings(
        steps=args.steps, learning_rate=args.lr, batch_size=args.batch_size, rank=args.rank, alpha=args.alpha,
        targets=tuple(t.strip() for t in args.targets.split(",") if t.strip()), hint=args.hint,
        pinned_input=args.pinned_input, p_mean=args.p_mean, p_std=args.p_std,
        conditioning_dropout=args.conditioning_dropout, precision=precision, optimizer=args.optimizer,
        checkpointing=args.checkpointing, windows=windows,
        frame_chunking=FrameChunkingSettings(args.frame_chunking) if args.frame_chunking else None,
        save_every=args.save_every, seed=args.seed)
    return settings, device


def clip_settings_from(args):
    from longer_video.nodes.techniques.training_clips import TrainingClipSettings

    return TrainingClipSettings(keyframes=args.keyframes, frames_between=args.frames_between, fps=args.fps or None,
                                stride=args.stride, width=args.width, height=args.height, folder_fps=args.folder_fps,
                                motion_bucket_id=args.motion_bucket_id, noise_aug_strength=args.noise_aug_strength)


def run(args) -> int:
    import torch

    import longer_video as lv

    settings, device = settings_from(args)
    out = Path(args.out)
    latents = Path(args.latents) if args.latents else out.with_name(out.name + ".latents")
    if bool(args.model) == bool(args.unet):
        raise lv.InputError("give exactly one of --model (a pipeline folder) or --unet (a UNet folder)")
    if args.model:
        from diffusers import StableVideoDiffusionPipeline

        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[settings.precision]
        pipe = StableVideoDiffusionPipeline.from_pretrained(args.model, torch_dtype=dtype)
        pipe.to(device)
        if args.data:
            count = lv.cache_training_latents(pipe, args.data, latents, clip_settings_from(args),
                                              progress=not args.no_progress)
            print(f"{count} clips cached in {latents}", flush=True)
        unet = pipe.unet
    else:
        from diffusers import UNetSpatioTemporalConditionModel

        if args.data:
            raise lv.InputError("--data needs --model (its VAE and CLIP encoder cache the clips); with --unet, "
                                "pass a filled --latents folder")
        unet = UNetSpatioTemporalConditionModel.from_pretrained(args.unet)
    result = lv.train_interpolation_lora(unet, latents, out, settings, resume=not args.no_resume,
                                         progress=not args.no_progress, device=device)
    print(f"LoRA written to {result.path} (step {result.steps}, {result.seconds_per_step:.2f} s/step)")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    import longer_video as lv

    warnings.simplefilter("default")
    try:
        return run(args)
    except lv.InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
