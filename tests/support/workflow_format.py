"""Turn a UI-format (LiteGraph) workflow into an API-format prompt using a server's /object_info.

The UI file stores widget values positionally; their meaning comes from the node's declared
input order, so this conversion fails loudly when a node's inputs change and a shipped workflow
goes stale.
"""
from __future__ import annotations

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}


def _is_widget(spec) -> bool:
    kind = spec[0]
    return isinstance(kind, list) or kind in WIDGET_TYPES


def ui_to_api(workflow: dict, object_info: dict) -> dict:
    links = {link[0]: link for link in workflow["links"]}
    prompt = {}
    for node in workflow["nodes"]:
        if node.get("mode", 0) != 0:
            raise ValueError(f"node {node['id']} ({node['type']}) is muted or bypassed; shipped workflows run every node")
        info = object_info.get(node["type"])
        if info is None:
            raise ValueError(f"node type {node['type']!r} (node {node['id']}) is not known to this server")
        declared = {**info["input"].get("required", {}), **info["input"].get("optional", {})}
        order = info.get("input_order", {})
        names = list(order.get("required", [])) + list(order.get("optional", [])) or list(declared)
        inputs = {}
        for slot in node.get("inputs", []):
            if slot.get("link") is not None:
                if slot["name"] not in declared:
                    raise ValueError(f"{node['type']} has no input {slot['name']!r} (node {node['id']})")
                _, src, src_slot, *_ = links[slot["link"]]
                inputs[slot["name"]] = [str(src), src_slot]
        values = list(node.get("widgets_values", []))
        for name in names:
            spec = declared[name]
            if not _is_widget(spec) or name in inputs:
                continue
            if not values:
                raise ValueError(f"{node['type']} (node {node['id']}) has no stored value for widget {name!r}")
            inputs[name] = values.pop(0)
            options = spec[1] if len(spec) > 1 else {}
            if options.get("control_after_generate"):
                values.pop(0)  # the frontend's "fixed/randomize" companion widget
        has_upload = any(len(s) > 1 and isinstance(s[1], dict) and (s[1].get("image_upload") or s[1].get("video_upload"))
                         for s in declared.values())
        if values and not has_upload:
            raise ValueError(f"{node['type']} (node {node['id']}) stores {len(values)} widget values it does not declare: {values}")
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs}
    return prompt
