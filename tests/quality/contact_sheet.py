"""Contact sheet of the quality benchmark's samples: rows = techniques, columns = frames.

Latents (4 channels) are shown through a fixed colour map that sends the four disk colours to
red, green, blue and yellow; a white dot marks the true disk centre in every frame.

    python tests/quality/contact_sheet.py out/quality --frames 64 --clip 0 --png tests/quality/contact_sheet.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
import toy_motion

TILE = 4  # pixels per latent pixel
LABEL_WIDTH = 210
TARGETS = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.3, 1.0], [0.9, 0.85, 0.1]])


def colour_map() -> torch.Tensor:
    """(3, 4) with palette @ map.T - 0.5 = the target colours (relative to mid-grey)."""
    return torch.linalg.lstsq(toy_motion.PALETTE, TARGETS - 0.5).solution.T


def to_rgb(latent: torch.Tensor) -> Image.Image:
    rgb = (0.5 + torch.einsum("dc,chw->dhw", colour_map(), latent.float())).clamp(0, 1)
    img = Image.fromarray((rgb.permute(1, 2, 0) * 255).round().byte().numpy(), "RGB")
    return img.resize((img.width * TILE, img.height * TILE), Image.NEAREST)


def frame_columns(frames: int, columns: int = 9) -> list[int]:
    return sorted({round(i * (frames - 1) / (columns - 1)) for i in range(columns)})


def contact_sheet(rows: list[tuple[str, torch.Tensor]], spec, frames: int) -> Image.Image:
    cols = frame_columns(frames)
    tile = toy_motion.SIZE * TILE
    sheet = Image.new("RGB", (LABEL_WIDTH + len(cols) * (tile + 2), 16 + len(rows) * (tile + 2)), "white")
    draw = ImageDraw.Draw(sheet)
    truth = toy_motion.trajectory(spec, frames)
    for j, t in enumerate(cols):
        draw.text((LABEL_WIDTH + j * (tile + 2) + 2, 2), f"t={t}", fill="black")
    for i, (label, video) in enumerate(rows):
        y = 16 + i * (tile + 2)
        draw.text((4, y + tile // 2 - 6), label, fill="black")
        for j, t in enumerate(cols):
            x = LABEL_WIDTH + j * (tile + 2)
            sheet.paste(to_rgb(video[t]), (x, y))
            cx, cy = x + truth[t, 0] * TILE, y + truth[t, 1] * TILE
            draw.ellipse((cx - 1.5, cy - 1.5, cx + 1.5, cy + 1.5), fill="white")
    return sheet


def main(argv=None):
    from safetensors.torch import load_file

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_quality import ROWS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("samples", type=Path)
    p.add_argument("--frames", type=int, default=64)
    p.add_argument("--clip", type=int, default=0)
    p.add_argument("--png", type=Path, default=Path(__file__).resolve().parent / "contact_sheet.png")
    args = p.parse_args(argv)
    spec = toy_motion.eval_specs(args.clip + 1)[args.clip]
    rows = [("ground truth", toy_motion.render(spec, args.frames))]
    for row in ROWS:
        path = args.samples / f"{row}_T{args.frames}.safetensors"
        if path.exists():
            rows.append((row, load_file(str(path))["latents"][args.clip]))
    contact_sheet(rows, spec, args.frames).save(args.png)
    print(f"wrote {args.png} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
