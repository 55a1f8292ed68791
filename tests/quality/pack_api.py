"""The one place the quality scripts import the pack from (change this line if the API moves)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from pack_import import import_pack  # noqa: E402

import_pack()
from longer_video.nodes import diffusers_patches as api  # noqa: E402

__all__ = ["api"]
