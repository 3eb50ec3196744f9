"""The section "Recipes without a paper number": kmvae's own recipes, archived for their
log-likelihoods and joint coherence with no paper value beside them.
"""

from reproduction.archive import run_metrics
from reproduction.common import format_number

OTHER_RECIPES = ("mopoe_mnist", "moe_mnist", "digits")


def others_section(archive):
    """The section's lines: one table row per archived run of `OTHER_RECIPES`; nothing when
    none is archived."""
    others = [(n, run_metrics(archive, n)) for n in OTHER_RECIPES]
    others = [(n, m) for n, m in others if m is not None]
    if not others:
        return []
    lines = ["## Recipes without a paper number", "",
             "| recipe | epochs | log p(x), q(z\\|x) | log p(x, y), q(z\\|x) | joint coherence |",
             "|---|---|---|---|---|"]
    for name, m in others:
        ll = m.get("log_likelihood", {})
        lines.append(f"| `{name}` | {m.get('epochs')} | "
                     f"{format_number(ll.get('log p(image) | q(z|image)'))} | "
                     f"{format_number(ll.get('log p(image,label) | q(z|image)'))} | "
                     f"{format_number(m.get('coherence', {}).get('joint'))} |")
    return lines + [""]
