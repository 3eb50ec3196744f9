"""The README's table of data sets, generated from the registry so it never goes stale.

    python -m kmvae.datasets.table            # prints the table
    python -m kmvae.datasets.table README.md  # rewrites it between the README's markers
"""

import re
import sys
from pathlib import Path

from kmvae.datasets import registry

START = "<!-- datasets-table:start -->"
END = "<!-- datasets-table:end -->"


def _short_paper(text):
    """The citation part of an entry's `paper`: its first clause."""
    return re.split(r"(?<!al)\. |: |; ", text, maxsplit=1)[0].rstrip(".")


def _modalities(spec, entry):
    parts = []
    for name, item in spec.items():
        shape = "x".join(str(d) for d in item["shape"]) or "scalar"
        kind = (f"{item['num_classes']} classes" if item["likelihood"] == "categorical"
                else item["likelihood"])
        observed = ", always present" if name in entry.always_present else ""
        parts.append(f"`{name}` ({shape}, {kind}{observed})")
    return ", ".join(parts)


def markdown_table():
    """A Markdown table with a row per registered data set: name, paper, modalities (shape,
    likelihood), train / test size and source."""
    rows = ["| name | paper | modalities | train / test | source |",
            "| --- | --- | --- | --- | --- |"]
    for name in registry.names():
        entry = registry.entry(name)
        rows.append(f"| `{name}` | {_short_paper(entry.paper)} | "
                    f"{_modalities(registry.spec(name), entry)} | {entry.size} | "
                    f"{entry.source_text} |")
    return "\n".join(rows)


def rewrite(path):
    """Replaces the text between `START` and `END` in the file at `path` by the table.

    Raises: ValueError if the markers are missing.
    """
    path = Path(path)
    text = path.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{path} lacks the markers {START} and {END}.")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{markdown_table()}\n{END}{tail}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        rewrite(sys.argv[1])
    else:
        print(markdown_table())
