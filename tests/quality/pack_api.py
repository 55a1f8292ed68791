"""The one place the quality scripts import the pack from (change this line if the API moves).

`lv` is the package `longer_video` (this checkout, whatever its folder is called): its top-level
names are the diffusers API (`lv.apply_temporal_positions(pipe, lv.PositionSettings(...))`, ...).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from pack_import import import_pack

lv = import_pack()

__all__ = ["lv"]
