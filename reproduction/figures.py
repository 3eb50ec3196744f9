"""The section "Figures": the recipes that reproduce a figure of MSNVI or M2VAE, each with the
paper's claim, kmvae's numbers and the PNGs.
"""

from pathlib import Path

from kmvae import recipes as _recipes

from reproduction.archive import IMAGES, ROOT, run_metrics
from reproduction.common import table_cell


# The recipes that reproduce a figure -> (figure, what the paper shows, kmvae's plots of it), from
# the targets of recipes/msnvi.py and recipes/m2vae.py.
FIGURES = {name: (target["figure"], target["claim"], target["plots"])
           for paper in ("msnvi", "m2vae")
           for name, target in _recipes.paper(paper).TARGETS.items() if "figure" in target}


def figure_section(archive, images=IMAGES):
    """The recipes that reproduce a figure: the paper's claim, kmvae's numbers (the subset
    ELBOs of eq. 12 for the M2VAE figures), the PNGs."""
    lines = ["## Figures", "",
             "| recipe | figure | the paper shows | kmvae (epochs, numbers) | PNG |",
             "|---|---|---|---|---|"]
    for name, (figure, claim, plot_names) in FIGURES.items():
        m = run_metrics(archive, name)
        if m is None:
            lines.append(f"| `{name}` | {figure} | {table_cell(claim)} | (not run) | |")
            continue
        numbers = [f"{m.get('epochs')} epochs"] + (
            ["numbers carried over from an earlier report"] if m.get("archived_from") else [])
        bounds = m.get("msnvi_bounds", {})
        numbers += [f"{key} = {value:.2f}" for key, value in bounds.items()]
        failure = m.get("sensor_failure_conflict")
        if failure:
            pair = table_cell(failure["pair"])
            numbers.append(f"median c({pair}) {failure['median_before']:.2f} "
                           f"before the failure, {failure['median_after']:.2f} after")
        elbos = m.get("subset_elbo")
        if elbos:
            numbers.append(table_cell("ELBO (eq. 12) " + ", ".join(
                f"q(z|{key}) {value:.2f}" for key, value in elbos.items())))
        pngs = []
        for plot in (plot_names,) if isinstance(plot_names, str) else plot_names:
            copy = Path(images) / f"{name}_{plot}.png"    # the README's copy, if any
            shown = copy.relative_to(ROOT) if copy.is_relative_to(ROOT) else copy
            pngs.append(shown.as_posix() if copy.exists() else
                        m.get("plots", {}).get(plot, ""))
        png = " ".join(p for p in pngs if p)
        lines.append(f"| `{name}` | {figure} | {table_cell(claim)} | {'; '.join(numbers)} | "
                     f"{png} |")
    return lines + [""]
