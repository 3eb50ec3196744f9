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
    runs_of = {name: run_metrics(archive, name) for name in FIGURES}
    for name, (figure, claim, plot_names) in FIGURES.items():
        m = runs_of[name]
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
    return lines + [""] + _msnvi_figure_claims(runs_of)


def _msnvi_figure_claims(runs_of):
    """MSNVI's two figure claims judged on the runs' numbers (`runs_of`: recipe -> metrics or
    None): Figure 2's product of beliefs resolving the single sources' ambiguity (eq. 3:
    -L(PoE) below -L(ind)) and Figure 5's conflict rising when camera 0 fails (its median after
    the failure above the median before; the paper gives no size); [] for a recipe not run."""
    lines = []
    bounds = (runs_of.get("msnvi_mog2d") or {}).get("msnvi_bounds", {})
    if {"-L(ind)", "-L(poe)"} <= set(bounds):
        shown = bounds["-L(poe)"] < bounds["-L(ind)"]
        lines.append(f"- `msnvi_mog2d`, Figure 2's product of beliefs resolving the ambiguity: "
                     f"{'shown' if shown else 'not shown'} (-L(PoE) {bounds['-L(poe)']:.2f} "
                     f"{'below' if shown else 'not below'} -L(ind) {bounds['-L(ind)']:.2f} nats "
                     f"per example, lower is better).")
    failure = (runs_of.get("msnvi_pendulum") or {}).get("sensor_failure_conflict")
    if failure:
        shown = failure["median_after"] > failure["median_before"]
        lines.append(f"- `msnvi_pendulum`, Figure 5's conflict rising when camera 0 fails: "
                     f"{'shown' if shown else 'not shown'} (median "
                     f"c({failure['pair']}) {failure['median_before']:.2f} before the failure, "
                     f"{failure['median_after']:.2f} after).")
    return lines + [""] if lines else []
