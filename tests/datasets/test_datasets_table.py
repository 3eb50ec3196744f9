"""The README's data-set table is generated from the registry and current."""

from pathlib import Path

from kmvae import datasets
from kmvae.datasets import table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_table_is_current_and_lists_every_data_set():
    text = README.read_text()
    current = text.split(table.START, 1)[1].split(table.END, 1)[0].strip()
    assert current == table.markdown_table(), (
        "README's data-set table is stale: run `python -m kmvae.datasets.table README.md`.")
    for name in datasets.names():
        assert f"| `{name}` |" in current


def test_rewrite_replaces_only_the_marked_block(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(f"before\n{table.START}\nold\n{table.END}\nafter\n")
    table.rewrite(path)
    text = path.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    assert table.markdown_table() in text
