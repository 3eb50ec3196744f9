"""compute_metrics' MoPoE protocol: per-subset values and their averages by subset size, the
subsets' posteriors as the paper's, the MVAE pair estimates only for recipes naming a pair."""

import json
import types

import numpy as np
import pytest
import tensorflow as tf

import kmvae
from kmvae.evaluate import compute_metrics


def _tiny(seed=0):
    """Three categorical modalities (their "oracle" is the decoded argmax: no classifier to
    train) copying one class, which is also the label."""
    modalities = [kmvae.Modality(n, num_classes=4, likelihood="categorical") for n in "abc"]
    model = kmvae.MoPoEVAE(modalities, 2, seed=seed)
    labels = np.random.default_rng(seed).integers(0, 4, 120).astype("int32")
    data = tf.data.Dataset.from_tensor_slices(
        {"a": labels, "b": labels, "c": labels, "label": labels}).batch(40)
    return model, data


def _recipe(source=None, target=None):
    return types.SimpleNamespace(eval_num_samples=3, source=source, target=target,
                                 dataset="tiny", dataset_options={})


def _mean_by_size_by_hand(per_subset):
    sizes = {}
    for label, value in per_subset.items():
        sizes.setdefault(str(label.count(",") + 1), []).append(value)
    return {size: sum(values) / len(values) for size, values in sizes.items()}


def test_per_size_averages_of_the_three_figure_3_quantities():
    model, data = _tiny()
    result = compute_metrics(model, _recipe(), data, data, eval_examples=50,
                             coherence_examples=80)
    # No (source, target) pair: no MVAE Tables 2-5 estimates, no cross-modal accuracy.
    assert "log_likelihood" not in result and "mvae_likelihoods" not in result[
        "eval_seconds_parts"]
    assert not any(key.startswith(("cross_modal", "test_log_p")) for key in result)
    assert result["subset_posterior"] == {"fusion": "poe", "prior_expert": False,
                                          "probe_codes": "mean"}
    assert result["coherence_examples"] == 80
    lls = result["subset_log_likelihood"]
    assert set(lls) == {"a", "b", "c", "a,b", "a,c", "b,c", "a,b,c"}
    assert result["subset_log_likelihood_by_size"] == pytest.approx(_mean_by_size_by_hand(lls))
    assert result["latent_probe_by_size"] == pytest.approx(
        _mean_by_size_by_hand(result["latent_probe"]))
    assert set(result["coherence"]["by_size"]) == {"1", "2"}   # size 3 leaves no target
    assert 0 <= result["coherence"]["joint_chance"] <= 1     # beside the joint coherence
    assert {"subset_log_likelihood", "coherence", "latent_probe", "conflict"} <= set(
        result["eval_seconds_parts"])


def test_a_recipe_naming_a_pair_gets_the_mvae_estimates():
    model, data = _tiny()
    result = compute_metrics(model, _recipe("a", "b"), data, data, eval_examples=40,
                             prior_samples=50)
    assert result["test_log_p(a)"] == result["log_likelihood"]["log p(a) | q(z|a)"]
    assert "log p(a|b) | q(z|a,b)" in result["log_likelihood"]
    assert "cross_modal_accuracy(a->b)" in result


def test_each_proposal_is_drawn_once_for_the_mvae_and_subset_estimates(monkeypatch):
    """MVAE Tables 2-5 need log p(a) and log p(a, b) under q(z | a) and under q(z | a, b), the
    subset log-likelihoods log p(a, b) under each subset's posterior: one importance-sampling
    pass per proposal (3, not 5) gives them all, each estimate from its pass's draws."""
    modalities = [kmvae.Modality(n, num_classes=4, likelihood="categorical") for n in "ab"]
    model = kmvae.MVAE(modalities, 2, seed=0)
    labels = np.random.default_rng(0).integers(0, 4, 60).astype("int32")
    data = tf.data.Dataset.from_tensor_slices({"a": labels, "b": labels}).batch(30)
    passes = []
    original = kmvae.metrics.importance_sampling_sets

    def recording(of, dataset, sets, proposal, *args, **kw):
        estimates = original(of, dataset, sets, proposal, *args, **kw)
        passes.append((proposal, sets, estimates))
        return estimates
    monkeypatch.setattr(kmvae.metrics, "importance_sampling_sets", recording)
    result = compute_metrics(model, _recipe("a", "b"), data, data, prior_samples=50)
    assert sorted(proposal for proposal, _, _ in passes) == [["a"], ["a", "b"], ["b"]]
    lls = result["log_likelihood"]
    for proposal, sets, estimates in passes:
        for names, estimate in zip(sets, estimates):
            key = f"log p({','.join(names)}) | q(z|{','.join(proposal)})"
            if key in lls:
                assert lls[key] == pytest.approx(float(np.mean(estimate.log_likelihood)))
        if proposal == ["a"]:
            assert sets == [["a"], ["a", "b"]]
            # log w(a, b) = log w(a) + log p(b | z_k) at the same z_k, and p(b | z) <= 1.
            assert np.all(estimates[1].log_likelihood <= estimates[0].log_likelihood + 1e-6)
    assert result["subset_log_likelihood"]["a"] == lls["log p(a,b) | q(z|a)"]


@pytest.mark.parametrize("unpaired_from", ["incomplete", "all"])
def test_probe_training_data_reads_each_example_once_despite_paired_per_batch(unpaired_from):
    """The MNIST-Split recipes' batches (`unpaired_from="all"`: single parts of every image
    beside the paired ones) and those that fill up with the unpaired examples alike."""
    from kmvae.evaluate import probe_training_data
    from kmvae.recipes import Recipe
    recipe = Recipe(name="digits_paired", description="", paper="", model="MVAE",
                    modalities=lambda: [], dataset="digits_label", latent_dim=2, epochs=1,
                    dataset_options=dict(supervision=0.05, paired_per_batch=20,
                                         unpaired_from=unpaired_from))
    labels = np.concatenate([b["label"].numpy() for b in probe_training_data(recipe)])
    plain = kmvae.datasets.load("digits_label", "train", shuffle=False)
    np.testing.assert_array_equal(labels, np.concatenate([b["label"] for b in plain]))
    cycled = sum(len(b["label"]) for b in recipe.load_data("train"))
    assert cycled > len(labels)  # the training batches repeat the paired examples


def test_an_interrupted_evaluation_resumes_with_the_parts_it_finished(tmp_path, monkeypatch):
    """The parts an evaluation finished are kept in its cache file: a rerun with the same
    settings restores them instead of computing them again; other settings recompute."""
    model, data = _tiny()
    cache = tmp_path / "evaluation_parts.json"
    kwargs = dict(eval_examples=50, coherence_examples=80, cache_path=cache)
    latent_probe = kmvae.metrics.latent_probe

    def interrupted(*args, **kw):
        raise KeyboardInterrupt
    monkeypatch.setattr(kmvae.metrics, "latent_probe", interrupted)
    with pytest.raises(KeyboardInterrupt):
        compute_metrics(model, _recipe(), data, data, **kwargs)
    finished = json.loads(cache.read_text())["parts"]
    assert set(finished) == {"subset_log_likelihood", "coherence"}

    calls = []
    monkeypatch.setattr(kmvae.metrics, "latent_probe", latent_probe)
    for name in ("conditional_coherence", "importance_sampling_sets"):
        original = getattr(kmvae.metrics, name)
        monkeypatch.setattr(kmvae.metrics, name,
                            lambda *a, _f=original, _n=name, **kw: calls.append(_n) or _f(*a, **kw))
    resumed = compute_metrics(model, _recipe(), data, data, **kwargs)
    assert calls == []                                   # restored, not computed again
    assert {"subset_log_likelihood", "coherence"}.isdisjoint(resumed["eval_seconds_parts"])
    assert "latent_probe" in resumed["eval_seconds_parts"]
    assert resumed["subset_log_likelihood"] == finished["subset_log_likelihood"][
        "subset_log_likelihood"]
    assert resumed["coherence"] == finished["coherence"]["coherence"]
    calls.clear()
    compute_metrics(model, _recipe(), data, data, **{**kwargs, "eval_examples": 40})
    assert "importance_sampling_sets" in calls and "conditional_coherence" in calls


def test_every_key_of_the_result_is_owned_by_one_metric(tmp_path):
    """`compute_metrics` is a loop over `kmvae.metrics.suite.default_metrics()`: each key of
    its result is documented, owned by one metric (or by `compute_metrics` itself), and each
    part of `"eval_seconds_parts"` is a metric's name."""
    from kmvae.metrics import suite

    model, data = _tiny()
    result = compute_metrics(model, _recipe("a", "b"), data, data, eval_examples=50,
                             coherence_examples=80, plots_dir=tmp_path)
    owners = {key.replace("<source>", "a").replace("<target>", "b").replace("<source>,", "a,"):
              owner for key, owner in suite.metrics_json_keys().items()}
    assert set(result) <= set(owners), set(result) - set(owners)
    all_keys = [key for metric in suite.default_metrics() for key in metric.keys]
    assert len(all_keys) == len(set(all_keys))              # one owner per key
    names = {metric.name for metric in suite.default_metrics()}
    assert set(result["eval_seconds_parts"]) <= names
    assert "cross_modal_accuracy(a->b)" in result and "plots" in result
    assert all(isinstance(m, kmvae.metrics.Metric) for m in suite.default_metrics())


def test_a_recipe_lists_its_metrics():
    """A recipe's `metrics` (names of `kmvae.metrics.suite.METRICS`) replaces the defaults; an
    unknown name is an error naming the known ones."""
    from kmvae.recipes import Recipe

    model, data = _tiny()
    recipe = types.SimpleNamespace(**vars(_recipe("a", "b")), metrics=("CrossModalAccuracy",
                                                                        "Conflict"))
    result = compute_metrics(model, recipe, data, data, eval_examples=50)
    assert "cross_modal_accuracy(a->b)" in result and "conflict" in result
    assert not {"subset_log_likelihood", "coherence", "log_likelihood"} & set(result)
    assert list(result["eval_seconds_parts"]) == ["conflict"]
    with pytest.raises(ValueError, match="unknown metrics \\['FID'\\].*CrossModalAccuracy"):
        Recipe(name="r", description="", paper="", model="MVAE", modalities=lambda: [],
               dataset="digits_label", latent_dim=2, epochs=1, metrics=("FID",))


def test_every_key_of_the_archived_metrics_is_documented():
    """`kmvae.metrics.suite.metrics_json_keys()` documents every key of the archived
    `metrics.json` files the report reads (`docs/reproduction/*.json`)."""
    from pathlib import Path

    from kmvae.metrics import suite

    documented = suite.metrics_json_keys()

    def generic(key):
        for accuracy in ("cross_modal_accuracy", "character_accuracy", "sequence_accuracy"):
            if key.startswith(f"{accuracy}("):
                return f"{accuracy}(<source>-><target>)"
        if key.startswith("test_log_p("):
            return "test_log_p(<source>,<target>)" if "," in key else "test_log_p(<source>)"
        return key

    files = sorted((Path(__file__).parents[1] / "docs" / "reproduction").glob("*.json"))
    undocumented = {key: path.name for path in files
                    for key in json.loads(path.read_text()) if generic(key) not in documented}
    assert files and undocumented == {}


def test_part_cache_keeps_estimates_under_way_only_for_its_own_settings(tmp_path):
    from kmvae.evaluate import PartCache, clear_evaluation_cache
    path = tmp_path / "evaluation_parts.json"
    cache = PartCache(path, {"num_samples": 1000, "key": {"epochs": 3}})
    checkpoint = cache.estimate_checkpoint("log p(a,b) | q(z|a)-model")
    assert checkpoint.parent == tmp_path / "evaluation_parts.estimates"
    assert checkpoint != cache.estimate_checkpoint("log p(a,b) | q(z|b)-model")
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"examples done so far")
    PartCache(path, {"num_samples": 1000, "key": {"epochs": 3}})      # the same evaluation
    assert checkpoint.exists()
    PartCache(path, {"num_samples": 1000, "key": {"epochs": 4}})      # the weights changed
    assert not checkpoint.parent.exists() and path.exists()
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"again")
    clear_evaluation_cache(path)                                      # the evaluation ended
    assert not path.exists() and not checkpoint.parent.exists()


def test_an_interrupted_estimate_inside_an_evaluation_goes_on_where_it_stopped(
        tmp_path, monkeypatch):
    """compute_metrics hands each importance-sampling estimate a checkpoint next to its cache
    file: stopped in the middle of an estimate, the rerun computes only the examples left."""
    model, data = _tiny()                        # batches of 40; 60 examples per estimate
    cache = tmp_path / "evaluation_parts.json"
    kwargs = dict(eval_examples=60, coherence_examples=20, cache_path=cache)
    original = kmvae.metrics.importance_sampling_sets
    sizes, stop_at = [], [2]

    def counting(of, *args, **kw):
        weights = of.log_importance_weight_terms

        def counted(inputs, **w):
            if len(sizes) + 1 == stop_at[0]:
                raise KeyboardInterrupt           # the process stopped in the second batch
            sizes.append(int(next(iter(inputs.values())).shape[0]))
            return weights(inputs, **w)
        monkeypatch.setattr(of, "log_importance_weight_terms", counted)
        try:
            return original(of, *args, **kw, checkpoint_seconds=0)
        finally:
            monkeypatch.setattr(of, "log_importance_weight_terms", weights)
    monkeypatch.setattr(kmvae.metrics, "importance_sampling_sets", counting)
    with pytest.raises(KeyboardInterrupt):
        compute_metrics(model, _recipe(), data, data, **kwargs)
    assert sizes == [40]
    assert len(list((tmp_path / "evaluation_parts.estimates").glob("*.npz"))) == 1
    sizes.clear()
    stop_at[0] = None
    resumed = compute_metrics(model, _recipe(), data, data, **kwargs)
    assert sum(sizes) == 7 * 60 - 40 and sizes[0] == 20    # 7 subsets; 40 examples were done
    assert set(resumed["subset_log_likelihood"]) == {"a", "b", "c", "a,b", "a,c", "b,c",
                                                     "a,b,c"}


def test_no_oracle_epochs_means_the_default_for_an_oracle_not_cached_yet(monkeypatch):
    """`kmvae evaluate RECIPE --in-progress` without `--oracle-epochs` passes None down: an
    oracle not cached yet is trained for `ORACLE_EPOCHS` epochs (it was `int(None)`, a
    TypeError, once the run's evaluation reached the coherence)."""
    from kmvae.evaluate import ORACLE_EPOCHS

    class Trained(Exception):
        pass

    def train_oracle(*args, epochs, **kwargs):
        raise Trained(epochs)

    monkeypatch.setattr(kmvae.metrics, "train_oracle", train_oracle)
    modalities = [kmvae.Modality("image", shape=(64,), likelihood="bernoulli"),
                  kmvae.Modality("label", num_classes=10, likelihood="categorical")]
    model = kmvae.MVAE(modalities, 2, seed=0)
    rng = np.random.default_rng(0)
    data = tf.data.Dataset.from_tensor_slices(
        {"image": rng.uniform(size=(20, 64)).astype("float32"),
         "label": rng.integers(0, 10, 20).astype("int32")}).batch(10)
    recipe = types.SimpleNamespace(**vars(_recipe("image", "label")), metrics=("Coherence",))
    recipe.dataset = "digits_label"           # bundled with scikit-learn: the oracle's data
    for given, used in ((None, ORACLE_EPOCHS), (3, 3)):
        with pytest.raises(Trained) as trained:
            compute_metrics(model, recipe, data, data, oracle_epochs=given)
        assert trained.value.args == (used,)
