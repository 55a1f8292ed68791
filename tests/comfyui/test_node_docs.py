"""The help pages (js/docs/<node_id>/en.md) are generated from the node schemas and committed up to date."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import node_docs


def test_every_node_has_a_page_made_from_its_schema():
    pages = node_docs.pages()
    from longer_video.nodes.extension import NODE_MODULES

    assert len(pages) == sum(len(module.NODES) for module in NODE_MODULES)
    stale = [str(path) for path, text in pages.items() if not path.is_file() or path.read_text() != text]
    assert not stale, f"regenerate with scripts/node_docs.py --write: {stale}"


def test_pages_carry_every_tooltip():
    from longer_video.nodes.chunked_decode import LongerVideoChunkedDecode

    schema = LongerVideoChunkedDecode.define_schema()
    page = node_docs.render(schema)
    assert schema.description in page and all(item.tooltip in page for item in schema.inputs)
