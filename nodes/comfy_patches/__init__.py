"""Applies the techniques to ComfyUI objects (MODEL = ModelPatcher, VAE = comfy.sd.VAE).

Modules here import `comfy.*` lazily or at import time; they are only imported inside ComfyUI
(or by tests that put a ComfyUI on sys.path).
"""
