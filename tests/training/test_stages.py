"""Training in stages (tVAE, M2VAE section 5.1.2) through `kmvae.train.fit_resumable`: each
stage's epochs once in `history.csv`, its weights saved when it ends, no backup left behind, and
a finished stage never trained again."""

import csv

import numpy as np
import pytest

from kmvae import recipes, train

EPOCHS = 4     # two per stage


def _fit(run_dir):
    recipe = recipes.load("tvae_mog")
    data = recipe.load_data()
    train_split, test = data[0].take(3), data[1].take(2)
    model = recipe.build_model(seed=0)
    history = train.fit_resumable(recipe, model, train_split, test, EPOCHS, run_dir, verbose=0,
                                  log=lambda line: None)
    return model, history


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A run directory trained in two stages, its model and the returned history."""
    run_dir = tmp_path_factory.mktemp("staged")
    return (run_dir, *_fit(run_dir))


def test_stages_save_their_weights_log_each_epoch_once_and_leave_no_backup(fitted):
    tmp_path, model, history = fitted
    with open(tmp_path / "history.csv") as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == list(range(EPOCHS))
    assert len(history["loss"]) == EPOCHS
    for stage in (1, 2):
        assert (tmp_path / f"stage{stage}.weights.npz").is_file()
    assert not (tmp_path / "backup").exists()
    with np.load(tmp_path / "stage2.weights.npz") as saved:     # the model as it ended
        for v in model.weights:
            np.testing.assert_array_equal(saved[v.path], np.asarray(v), err_msg=v.path)
    # Stage 1's weights differ from stage 2's where stage 2 trains (the unimodal encoders).
    with np.load(tmp_path / "stage1.weights.npz") as one, \
            np.load(tmp_path / "stage2.weights.npz") as two:
        assert any(not np.array_equal(one[k], two[k]) for k in one.files)


def test_a_finished_staged_run_is_not_trained_again(fitted):
    tmp_path = fitted[0]
    before = (tmp_path / "history.csv").read_bytes()
    model, history = _fit(tmp_path)
    assert (tmp_path / "history.csv").read_bytes() == before
    assert len(history["loss"]) == EPOCHS
