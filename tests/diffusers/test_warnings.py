"""The test run silences only the warnings pyproject's filterwarnings names as known and harmless."""
import warnings

from diffusers import EulerDiscreteScheduler

EULER = "diffusers.schedulers.scheduling_euler_discrete"


def test_the_known_numpy_copy_warning_is_silenced_and_real_warnings_still_show():
    with warnings.catch_warnings(record=True) as caught:
        EulerDiscreteScheduler().set_timesteps(2)  # np.array(tensor): numpy 2's copy-keyword DeprecationWarning
        warnings.warn_explicit("a real deprecation", DeprecationWarning, "scheduling_euler_discrete.py", 1, module=EULER)
        warnings.warn("a real warning from elsewhere", UserWarning)
    assert [str(w.message) for w in caught] == ["a real deprecation", "a real warning from elsewhere"]
