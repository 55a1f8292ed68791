"""A patched sampling step does no host work: no .item() (a host-device sync on a GPU), tables built once."""
import copy

import torch
from diffusers_models import run_unet, tiny_pipeline, unet_inputs
from torch.utils._python_dispatch import TorchDispatchMode

import longer_video as lv


class CountScalarReads(TorchDispatchMode):
    """Counts aten._local_scalar_dense: what .item(), int(tensor) and bool(tensor) dispatch to."""

    def __init__(self):
        super().__init__()
        self.reads = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            self.reads += 1
        return func(*args, **(kwargs or {}))


def test_patched_unet_call_reads_no_scalars_back_from_the_device():
    unet = copy.deepcopy(tiny_pipeline().unet)
    inputs = unet_inputs(unet, 20)
    stock = CountScalarReads()
    with stock:
        run_unet(unet, inputs)
    lv.apply_temporal_positions(unet, lv.PositionSettings("yarn", 8))
    lv.apply_windowed_attention(unet, lv.WindowSettings(8, 3))
    run_unet(unet, inputs)  # first call builds and caches the tables
    patched = CountScalarReads()
    with patched:
        run_unet(unet, inputs)
    assert patched.reads == stock.reads, (patched.reads, stock.reads)
