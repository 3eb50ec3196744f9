"""Each model's objective against a hand-written numpy computation on a tiny model.

The encoders and decoders are called directly (`model.encoders[m](x)`, `model.decoders[m].mean(z)`)
and everything after them - products of experts, KL divergences, log-likelihoods, subset
structure, weights - is recomputed here in float64 numpy / scipy, with the model's training
noise replaced by fixed draws.
"""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

# Data dimensions of the tiny modalities (MoPoE App. B): bernoulli (5,) -> 5, normal (3,) -> 3,
# categorical with 4 classes -> 4 (its one-hot size).
KIND_DIMS = {"bernoulli": 5, "normal": 3, "categorical": 4}
THREE = ("bernoulli", "normal", "categorical")

CONFIGS = {
    "plain": dict(kwargs={}, kl_weight=None),
    "weighted": dict(kwargs=dict(beta=0.5, likelihood_weights={"a": 2.0, "c": 0.5},
                                 rescale_likelihoods=True), kl_weight=None),
    "warmup": dict(kwargs=dict(beta=2.0, likelihood_weights={"b": 3.0}), kl_weight=0.3),
}


def expected_lambdas(kinds, kwargs):
    dims = {name: KIND_DIMS[kind] for name, kind in zip("abc", kinds)}
    weights = kwargs.get("likelihood_weights", {})
    top = max(dims.values())
    return {n: weights.get(n, 1.0) * (top / d if kwargs.get("rescale_likelihoods") else 1.0)
            for n, d in dims.items()}


def expected_kl_weight(config):
    if config["kl_weight"] is not None:
        return config["kl_weight"]
    return config["kwargs"].get("beta", 1.0)


def make_model(tiny, kind, kinds, config, **extra):
    names = "abc"[:len(kinds)]
    kwargs = dict(config["kwargs"])
    if "likelihood_weights" in kwargs:
        kwargs["likelihood_weights"] = {n: w for n, w in kwargs["likelihood_weights"].items()
                                        if n in names}
    model = tiny.model(kind, kinds=kinds, latent_dim=2, seed=3, **kwargs, **extra)
    assert model.modality_names == tuple(names)
    if config["kl_weight"] is not None:
        model.kl_weight.assign(config["kl_weight"])
    return model


def zero_filled_batch(tiny, model, mask, seed):
    batch = tiny.batch(model.modalities, len(mask), seed=seed)
    for m, name in enumerate(model.modality_names):
        batch[name][~mask[:, m]] = 0
    batch["mask"] = mask
    return batch


# ----------------------------------------------------------------------------- numpy pieces
def numpy_experts(model, batch):
    """Unimodal posterior means and standard deviations `(B, M, D)`, float64."""
    locs, scales = [], []
    for name, encoder in zip(model.modality_names, model.encoders):
        q = encoder(batch[name])
        locs.append(q.mean().numpy())
        scales.append(q.stddev().numpy())
    return np.stack(locs, 1).astype(np.float64), np.stack(scales, 1).astype(np.float64)


def numpy_poe(locs, scales, subset, prior_expert):
    """Product of the experts in `subset` (and the prior N(0, I)): locs/scales `(M, D)`."""
    precision = sum(1.0 / scales[m] ** 2 for m in subset) + (1.0 if prior_expert else 0.0)
    mean = sum(locs[m] / scales[m] ** 2 for m in subset) / precision
    return mean, precision ** -0.5


def numpy_kl_to_standard_normal(mean, std):
    return 0.5 * np.sum(std ** 2 + mean ** 2 - 1.0 - 2.0 * np.log(std))


def numpy_log_likelihood(model, m, z, value):
    """`log p(x_m | z)` for one example from the decoder's mean, in numpy / scipy."""
    modality = model.modalities[m]
    mean = model.decoders[m].mean(np.asarray(z, np.float32)[None]).numpy()[0].astype(np.float64)
    if modality.likelihood == "bernoulli":
        return np.sum(value * np.log(mean) + (1 - value) * np.log1p(-mean))
    if modality.likelihood == "categorical":
        return np.log(mean[int(value)])
    return np.sum(stats.norm.logpdf(value, mean, modality.scale))


def run_objective(model, batch):
    x, mask = model.prepare_batch(batch)
    loss, terms = model.compute_objective(x, mask, training=True)
    return float(loss), {k: (v[0].numpy(), v[1].numpy()) for k, v in terms.items()}


def valid_subsets(method, present):
    idx = [m for m, p in enumerate(present) if p]
    if method == "moe":
        return [(m,) for m in idx]
    return [s for r in range(1, len(idx) + 1) for s in itertools.combinations(idx, r)]


# ----------------------------------------------------------------------------- MoPoE / MoE
@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("kind,prior_expert", [("MoPoEVAE", False), ("MoPoEVAE", True),
                                               ("MoEVAE", False)])
def test_mopoe_and_moe_objectives_match_a_numpy_computation(tiny, monkeypatch, kind,
                                                            prior_expert, config_name):
    config = CONFIGS[config_name]
    extra = {"prior_expert": True} if prior_expert else {}
    model = make_model(tiny, kind, THREE, config, **extra)
    method = model.fusion.method
    assert method == ("moe" if kind == "MoEVAE" else "mopoe")
    lambdas = expected_lambdas(THREE, config["kwargs"])
    np.testing.assert_allclose(model.loss_weights, [lambdas[n] for n in "abc"], rtol=1e-6)

    mask = np.concatenate([tiny.every_mask(3), np.ones((3, 3), bool)])
    batch = zero_filled_batch(tiny, model, mask, seed=5)
    rng = np.random.default_rng(8)
    chosen = [valid_subsets(method, row)[rng.integers(len(valid_subsets(method, row)))]
              for row in mask]
    index = np.array([model.fusion.subsets.index(s) for s in chosen], np.int32)
    eps = rng.normal(size=(len(mask), 2)).astype(np.float32)
    seen_logits = []

    def fixed_component(logits, num_samples, seed=None, dtype="int32"):
        seen_logits.append(np.asarray(logits))
        assert num_samples == 1
        return tf.constant(index[:, None], dtype)

    monkeypatch.setattr(keras.random, "categorical", fixed_component)
    monkeypatch.setattr(model, "sample_normal", lambda loc, scale: loc + scale * eps)
    loss, terms = run_objective(model, batch)

    locs, scales = numpy_experts(model, batch)
    expected_loss, elbos, kls = [], [], []
    log_liks = np.zeros((len(mask), 3))
    for row, present in enumerate(mask):
        subsets = valid_subsets(method, present)
        # The component draw is uniform over the valid components.
        log_w = seen_logits[0][row]
        for k, subset in enumerate(model.fusion.subsets):
            if tuple(subset) in subsets:
                assert np.isclose(log_w[k], -np.log(len(subsets)), rtol=1e-6)
            else:
                assert log_w[k] == -np.inf
        kl = np.mean([numpy_kl_to_standard_normal(*numpy_poe(locs[row], scales[row], s,
                                                             prior_expert)) for s in subsets])
        mean, std = numpy_poe(locs[row], scales[row], chosen[row], prior_expert)
        z = mean + std * eps[row]
        for m, name in enumerate("abc"):
            if present[m]:
                log_liks[row, m] = numpy_log_likelihood(model, m, z, batch[name][row])
        weighted = sum(lambdas[n] * log_liks[row, m] for m, n in enumerate("abc"))
        expected_loss.append(-(weighted - expected_kl_weight(config) * kl))
        elbos.append(log_liks[row].sum() - kl)
        kls.append(kl)

    assert loss == pytest.approx(np.mean(expected_loss), rel=1e-5, abs=1e-5)
    np.testing.assert_allclose(terms["kl"][0], kls, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(terms["elbo"][0], elbos, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(terms["elbo"][1], np.ones(len(mask)))
    for m, name in enumerate("abc"):
        values, weights = terms[f"log_likelihood_{name}"]
        np.testing.assert_array_equal(weights, mask[:, m].astype(np.float32))
        np.testing.assert_allclose(values[mask[:, m]], log_liks[mask[:, m], m], rtol=1e-5,
                                   atol=1e-5)


def test_mopoe_draws_components_uniformly_among_the_valid_ones(tiny, monkeypatch):
    model = tiny.model("MoPoEVAE", latent_dim=2, seed=0)
    n = 2100
    mask = np.ones((n, 3), bool)
    mask[n // 2:, 1] = False                      # second half: only a and c present
    one = tiny.batch(model.modalities, 1, seed=2)
    batch = {name: np.repeat(value, n, axis=0) for name, value in one.items()}
    batch["mask"] = mask
    captured = []

    def capture(loc, scale):
        captured.append(loc.numpy())
        return loc

    monkeypatch.setattr(model, "sample_normal", capture)
    run_objective(model, batch)
    locs, scales = numpy_experts(model, {k: v[:1] for k, v in batch.items()})
    candidates = list(itertools.chain.from_iterable(
        itertools.combinations(range(3), r) for r in (1, 2, 3)))
    means = np.array([numpy_poe(locs[0], scales[0], s, False)[0] for s in candidates])
    distance = np.abs(captured[0][:, None, :] - means[None]).max(-1)       # (n, 7)
    which = distance.argmin(1)
    assert np.all(distance.min(1) < 1e-4)
    full = np.bincount(which[: n // 2], minlength=7)
    partial = np.bincount(which[n // 2:], minlength=7)
    assert all(count > 0 for count in full)
    assert stats.chisquare(full).pvalue > 1e-3
    allowed = [k for k, s in enumerate(candidates) if 1 not in s]
    assert partial[[k for k in range(7) if k not in allowed]].sum() == 0
    assert stats.chisquare(partial[allowed]).pvalue > 1e-3


# ----------------------------------------------------------------------------- MVAE
def mvae_hand_objective(model, batch, mask, eps, random_subset, lambdas, kl_weight):
    """Section 2.4 with eq. 4 per term: ELBO of the present set, of each single present modality
    (unless it is the only one) and of `random_subset` intersected with the present set (unless
    empty, single or all). Returns (loss, per-row reported values)."""
    locs, scales = numpy_experts(model, batch)
    M = model.num_modalities
    names = model.modality_names
    rows = []
    for row, present in enumerate(mask):
        P = tuple(m for m in range(M) if present[m])

        def elbo(subset, t):
            mean, std = numpy_poe(locs[row], scales[row], subset, True)
            z = mean + std * eps[row, t]
            lls = {m: numpy_log_likelihood(model, m, z, batch[names[m]][row]) for m in subset}
            kl = numpy_kl_to_standard_normal(mean, std)
            weighted = sum(lambdas[names[m]] * ll for m, ll in lls.items()) - kl_weight * kl
            return weighted, sum(lls.values()) - kl, kl

        full = elbo(P, 0)
        objective = full[0]
        singles = {m: elbo((m,), 1 + m) for m in P}
        num_terms = 1
        if len(P) > 1:
            objective += sum(s[0] for s in singles.values())
            num_terms += len(P)
        random_elbo = None
        if random_subset is not None:
            R = tuple(m for m in random_subset if m in P)
            if 1 < len(R) < len(P):
                term = elbo(R, 1 + M)
                objective += term[0]
                random_elbo = term[1]
                num_terms += 1
        rows.append(dict(objective=objective, elbo=full[1], kl=full[2], num_terms=num_terms,
                         singles={m: s[1] for m, s in singles.items()}, random=random_elbo))
    return -np.mean([r["objective"] for r in rows]), rows


def check_mvae_terms(model, terms, rows, mask):
    np.testing.assert_allclose(terms["elbo"][0], [r["elbo"] for r in rows], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(terms["kl"][0], [r["kl"] for r in rows], rtol=1e-5, atol=1e-6)
    for m, name in enumerate(model.modality_names):
        values, weights = terms[f"elbo_{name}"]
        np.testing.assert_array_equal(weights, mask[:, m].astype(np.float32))
        expected = [r["singles"][m] for r, p in zip(rows, mask[:, m]) if p]
        np.testing.assert_allclose(values[mask[:, m]], expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_mvae_two_modalities_full_and_single_terms(tiny, monkeypatch, config_name):
    config = CONFIGS[config_name]
    kinds = ("bernoulli", "categorical")
    model = make_model(tiny, "MVAE", kinds, config)
    assert "elbo_random_subsets" not in model.term_names()   # no subset of size 2..M-1
    lambdas = expected_lambdas(kinds, config["kwargs"])
    mask = np.array([[True, True], [True, False], [False, True], [True, True]])
    batch = zero_filled_batch(tiny, model, mask, seed=6)
    eps = np.random.default_rng(1).normal(size=(4, 3, 2)).astype(np.float32)
    shapes = []

    def fixed_noise(loc, scale):
        shapes.append(tuple(loc.shape))
        return loc + scale * eps

    monkeypatch.setattr(model, "sample_normal", fixed_noise)
    loss, terms = run_objective(model, batch)
    assert shapes == [(4, 3, 2)]          # terms: the full set and the two single modalities
    expected, rows = mvae_hand_objective(model, batch, mask, eps, None, lambdas,
                                         expected_kl_weight(config))
    assert [r["num_terms"] for r in rows] == [3, 1, 1, 3]
    assert loss == pytest.approx(expected, rel=1e-5, abs=1e-5)
    check_mvae_terms(model, terms, rows, mask)
    # Row by row: a complete row contributes three ELBOs, a row with one modality just one.
    for row in range(4):
        monkeypatch.setattr(model, "sample_normal",
                            lambda loc, scale, r=row: loc + scale * eps[r:r + 1])
        row_loss, _ = run_objective(model, {k: v[row:row + 1] for k, v in batch.items()})
        assert row_loss == pytest.approx(-rows[row]["objective"], rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("config_name", ["plain", "weighted"])
def test_mvae_three_modalities_with_one_random_subset(tiny, monkeypatch, config_name):
    config = CONFIGS[config_name]
    model = make_model(tiny, "MVAE", THREE, config, num_random_subsets=1)
    assert "elbo_random_subsets" in model.term_names()
    lambdas = expected_lambdas(THREE, config["kwargs"])
    mask = np.concatenate([tiny.every_mask(3), np.ones((2, 3), bool)])
    batch = zero_filled_batch(tiny, model, mask, seed=9)
    eps = np.random.default_rng(2).normal(size=(len(mask), 5, 2)).astype(np.float32)
    monkeypatch.setattr(model, "sample_normal", lambda loc, scale: loc + scale * eps)
    found = set()
    for pick in range(3):
        # The random subset is drawn with keras.random.randint: force each pick in turn, and
        # find which 2-subset the model's loss corresponds to.
        monkeypatch.setattr(keras.random, "randint",
                            lambda shape, minval, maxval, seed=None, dtype="int32", p=pick:
                            tf.fill(shape, tf.constant(p, dtype)))
        loss, terms = run_objective(model, batch)
        matches = []
        for subset in itertools.combinations(range(3), 2):
            expected, rows = mvae_hand_objective(model, batch, mask, eps, subset, lambdas,
                                                 expected_kl_weight(config))
            if abs(loss - expected) <= 1e-5 * abs(expected) + 1e-5:
                matches.append((subset, rows))
        assert len(matches) == 1, f"pick {pick}: the loss {loss} matches {len(matches)} subsets"
        subset, rows = matches[0]
        found.add(subset)
        check_mvae_terms(model, terms, rows, mask)
        values, weights = terms["elbo_random_subsets"]
        has_random = np.array([r["random"] is not None for r in rows])
        np.testing.assert_array_equal(weights, has_random.astype(np.float32))
        np.testing.assert_allclose(values[has_random],
                                   [r["random"] for r in rows if r["random"] is not None],
                                   rtol=1e-5, atol=1e-5)
        # Only complete rows get a random term (the 2-subset is neither single nor all of X).
        np.testing.assert_array_equal(has_random, mask.all(axis=1))
    assert found == {(0, 1), (0, 2), (1, 2)}


def test_mvae_random_subsets_are_uniform_two_subsets(tiny, monkeypatch):
    model = tiny.model("MVAE", latent_dim=2, num_random_subsets=1, seed=4)
    batch = tiny.batch(model.modalities, 1, seed=1)
    captured = []

    def capture(loc, scale):
        captured.append(loc.numpy()[0])
        return loc

    monkeypatch.setattr(model, "sample_normal", capture)
    x, mask = model.prepare_batch(batch)
    for _ in range(90):
        model.compute_objective(x, mask, training=True)
    locs, scales = numpy_experts(model, batch)
    pairs = list(itertools.combinations(range(3), 2))
    means = np.array([numpy_poe(locs[0], scales[0], s, True)[0] for s in pairs])
    counts = np.zeros(3, int)
    for loc in captured:
        assert loc.shape == (5, 2)                 # full, 3 singles, 1 random
        distance = np.abs(loc[4][None] - means).max(-1)
        assert distance.min() < 1e-5
        counts[distance.argmin()] += 1
    assert counts.min() > 0 and stats.chisquare(counts).pvalue > 1e-3


def test_mvae_num_random_subsets_counts_terms(tiny, monkeypatch):
    shapes = []
    model = tiny.model("MVAE", kinds=("bernoulli", "normal", "categorical", "laplace"),
                       latent_dim=2, num_random_subsets=3)
    monkeypatch.setattr(model, "sample_normal", lambda loc, scale: shapes.append(loc.shape) or loc)
    run_objective(model, tiny.batch(model.modalities, 2))
    assert tuple(shapes[0]) == (2, 1 + 4 + 3, 2)
    with pytest.raises(ValueError, match="num_random_subsets must be >= 0"):
        tiny.model("MVAE", num_random_subsets=-1)


def test_objective_uses_the_kl_weight_variable(tiny):
    """`KLWarmup` changes `kl_weight`; the loss must follow it linearly with slope -mean(KL)."""
    model = tiny.model("MoPoEVAE", latent_dim=2)
    batch = tiny.batch(model.modalities, 6)
    state = model._seed_generator.state.numpy()
    losses = []
    for weight in (0.0, 1.0):
        model.kl_weight.assign(weight)
        model._seed_generator.state.assign(state)
        loss, terms = run_objective(model, batch)
        losses.append(loss)
    assert losses[1] - losses[0] == pytest.approx(np.mean(terms["kl"][0]), rel=1e-4)
    assert np.mean(terms["kl"][0]) > 0


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(latent_dim=0), ValueError, "latent_dim must be a positive int"),
    (dict(beta=-1.0), ValueError, "beta must be >= 0"),
    (dict(likelihood_weights={"zz": 1.0}), ValueError, "unknown modalities \\['zz'\\]"),
    (dict(likelihood_weights={"a": -1.0}), ValueError, "likelihood_weights\\['a'\\] must be >= 0"),
])
def test_constructor_errors(tiny, kwargs, error, match):
    kwargs = {"latent_dim": 2, **kwargs}
    with pytest.raises(error, match=match):
        tiny.model("MoPoEVAE", **kwargs)


def test_modality_list_errors(tiny):
    import kmvae
    with pytest.raises(ValueError, match="at least one Modality"):
        kmvae.MVAE([], 2)
    with pytest.raises(TypeError, match="kmvae.Modality"):
        kmvae.MVAE(["image"], 2)
    a = tiny.modalities(("bernoulli",))[0]
    with pytest.raises(ValueError, match="unique"):
        kmvae.MVAE([a, a], 2)
