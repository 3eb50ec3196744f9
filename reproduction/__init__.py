"""The reproduction report of the source checkout: REPRODUCTION.md, the papers' numbers (the
recipes' targets, `recipes/*.py`) joined with the archived `metrics.json` of kmvae's runs
(`docs/reproduction/`). Not part of the installed package; run it as
`python -m kmvae.reproduction --runs DIR` (see `report.py`).
"""
