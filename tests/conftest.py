"""Makes this checkout importable as `longer_video` for every test tier."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))

from pack_import import import_pack

import_pack()
