"""The reproduction report of the source checkout: REPRODUCTION.md, the papers' numbers (the
recipes' targets, `recipes/*.py`) joined with the archived `metrics.json` of kmvae's runs
(`docs/reproduction/`). Not part of the installed package; run it as
`python -m kmvae.reproduction --runs DIR` (see `report.py`).

`report.py` writes the report (`build`) and reproduces recipes (`reproduce`, `plan`, `main`); it
hands on the names code outside uses. The papers' sections are modules named as the papers'
modules of `recipes/` (`mvae.py`, `msnvi.py`, `m2vae.py`, `svae.py`, `mopoe.py`), the figures
table, kmvae's recipes without a paper number and the cost of the runs are `figures.py`,
`others.py` and `cost.py`; `archive.py` (the checkout's paths, the archive of runs) and
`common.py` (tolerances and verdicts, formats, commands, model-selection lines) serve them all.
A new paper's section is a module and one line in `build`.
"""
