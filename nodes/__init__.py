"""Longer Video's Python package: pure techniques, host adapters and ComfyUI nodes.

Importing this package imports nothing from ComfyUI or diffusers; the adapters and node
modules do so themselves, so the pure tiers run without either host.
"""
