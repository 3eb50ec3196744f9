"""`kmvae train` on semi-supervised batches in blocks (SVAE family, single views): the run
records the batches' layout in `run.json` and `metrics.json`; a run on plain batches does not."""

import dataclasses
import json

from kmvae import recipes
from kmvae.train import run


def test_a_run_on_batches_in_blocks_records_their_layout(tmp_path):
    blocks = dataclasses.replace(
        recipes.load("digits"), model="SVAE", epochs=1,
        dataset_options={"supervision": 0.2, "paired_per_batch": 10,
                         "unpaired_from": "incomplete_views"})
    result = run(blocks, out=tmp_path / "blocks", seed=1, evaluate=False, verbose=0,
                 log=lambda *a: None)
    layout = [[10, [True, True]], [20, [True, False]], [20, [False, True]]]
    assert result["batch_layout"] == layout
    run_json = json.loads((tmp_path / "blocks/runs/digits/1/run.json").read_text())
    assert run_json["batch_layout"] == layout
    assert json.loads((tmp_path / "blocks/runs/digits/1/metrics.json").read_text())[
        "batch_layout"] == layout
    plain = run(dataclasses.replace(blocks, dataset_options={"supervision": 0.2}),
                out=tmp_path / "plain", seed=1, evaluate=False, verbose=0, log=lambda *a: None)
    assert "batch_layout" not in plain
    assert "batch_layout" not in json.loads(
        (tmp_path / "plain/runs/digits/1/run.json").read_text())
