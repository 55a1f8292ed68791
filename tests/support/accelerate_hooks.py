"""accelerate's real hook machinery for the diffusers tests: a hook that counts the module's calls."""
from accelerate.hooks import ModelHook


class CountingHook(ModelHook):
    """Counts forward calls, so a test sees whether accelerate's hook still runs around a patch."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def pre_forward(self, module, *args, **kwargs):
        self.calls += 1
        return args, kwargs
