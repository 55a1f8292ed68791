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


def api_to_ui(prompt: dict, object_info: dict, positions: dict[str, tuple[int, int]], info: dict) -> dict:
    """The inverse of ui_to_api, for writing shipped workflows: a UI file whose ui_to_api is `prompt`.

    positions: node id -> canvas position; info: {"name", "description"} shown in the template list.
    """
    links, nodes = [], []
    outputs_of: dict[str, list[dict]] = {}
    for node_id, node in prompt.items():
        spec = object_info[node["class_type"]]
        outputs_of[node_id] = [{"name": name, "type": kind, "links": [], "slot_index": i}
                               for i, (name, kind) in enumerate(zip(spec["output_name"], spec["output"]))]
    for order, (node_id, node) in enumerate(prompt.items()):
        spec = object_info[node["class_type"]]
        declared = {**spec["input"].get("required", {}), **spec["input"].get("optional", {})}
        names = list(spec["input_order"].get("required", [])) + list(spec["input_order"].get("optional", []))
        inputs, widgets = [], []
        for name in names:
            value = node["inputs"].get(name)
            if isinstance(value, list):
                link_id = len(links) + 1
                source, slot = value
                kind = object_info[prompt[source]["class_type"]]["output"][slot]
                links.append([link_id, int(source), slot, int(node_id), len(inputs), kind])
                outputs_of[source][slot]["links"].append(link_id)
                inputs.append({"name": name, "type": kind, "link": link_id})
            elif value is not None and _is_widget(declared[name]):
                widgets.append(value)
                options = declared[name][1] if len(declared[name]) > 1 else {}
                if options.get("control_after_generate"):
                    widgets.append("fixed")
                if options.get("image_upload"):
                    widgets.append("image")
        x, y = positions[node_id]
        nodes.append({"id": int(node_id), "type": node["class_type"], "pos": [x, y], "size": [320, 160], "flags": {},
                      "order": order, "mode": 0, "inputs": inputs, "outputs": outputs_of[node_id],
                      "properties": {"Node name for S&R": node["class_type"]}, "widgets_values": widgets})
    return {"last_node_id": max(int(i) for i in prompt), "last_link_id": len(links), "nodes": nodes, "links": links,
            "groups": [], "config": {}, "extra": {"info": info}, "version": 0.4}
