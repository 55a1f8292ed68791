"""Pure torch math shared by the ComfyUI and diffusers adapters (no host imports here)."""
