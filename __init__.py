"""Longer Video: ComfyUI nodes that make SVD / SVD-XT generate longer videos without retraining."""

WEB_DIRECTORY = "./js"


async def comfy_entrypoint():
    # Imported here so the package imports without a ComfyUI (pure test tiers, diffusers use).
    from .nodes.extension import LongerVideoExtension

    return LongerVideoExtension()
