"""Fixtures of the diffusers keyframe tests (a module that defines its own `pipe` uses that one)."""
import pytest
from diffusers_keyframes import random_keyframes
from diffusers_models import tiny_pipeline


@pytest.fixture(scope="module")
def pipe():
    return tiny_pipeline()


@pytest.fixture(scope="module")
def keyframes():
    return random_keyframes()
