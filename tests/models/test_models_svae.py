"""SVAE and VAEVAE (a)/(b), VAEVAE*: posteriors (eq. 3-6, Appendix D), the unpaired loss as a
plain VAE ELBO, L_comb (eq. 7-10) and VAEVAE's ELBO by hand, masks selecting the paired or
unpaired term per example, network counts. Masks, saving, export and fit: the contract
(tests/models/test_models_contract.py)."""

import numpy as np
import pytest

import kmvae
from subset_helpers import gaussian, inject_noise, kl, log_lik, objective, product, standard

TWO = ("bernoulli", "categorical")
THREE = ("bernoulli", "normal", "categorical")


def svae_posteriors(model, a, b):
    """q(z|a) = q_1(z|a) q_2*(z|a), q(z|b) = q_2(z|b) q_1*(z|b), q(z|a,b) ∝ q_1 q_2 (eq. 3-5)."""
    pairs = model.replacement_pairs                       # [(0, 1), (1, 0)]: q_kj(z | x_j)
    q1, q2 = gaussian(model.encoders[0](a)), gaussian(model.encoders[1](b))
    q2_star = gaussian(model.replacement_encoders[pairs.index((1, 0))](a))
    q1_star = gaussian(model.replacement_encoders[pairs.index((0, 1))](b))
    return product(q1, q2_star), product(q2, q1_star), product(q1, q2)


def by_hand(model, batch, eps, posteriors, kind):
    """Per-example U terms of the two-modality objective: (U_a, U_b, U_ab)."""
    a, b = batch["a"], batch["b"]
    q_a, q_b, q_ab = posteriors
    z_a, z_b, z_ab = (q[0] + q[1] * eps[:, k] for k, q in enumerate(posteriors))
    prior = standard(z_a.shape)
    u_a = log_lik(model, "a", z_a, a) - kl(q_a, prior)
    u_b = log_lik(model, "b", z_b, b) - kl(q_b, prior)
    u_ab = (log_lik(model, "a", z_ab, a) + log_lik(model, "b", z_ab, b)
            - kl(q_ab, q_a) - kl(q_ab, q_b))
    return u_a, u_b, u_ab


def test_svae_unpaired_loss_is_a_plain_vae_elbo(tiny):
    model = kmvae.SVAE(tiny.modalities(TWO), 2, seed=1)
    batch = tiny.batch(model.modalities, 5, seed=2)
    batch["mask"] = np.array([[1, 0]] * 5, bool)              # x_1 only: unpaired
    eps = np.random.default_rng(0).normal(size=(5, 3, 2))
    inject_noise(model, eps)
    loss, terms = objective(model, batch)
    q, _, _ = svae_posteriors(model, batch["a"], batch["b"])
    z = q[0] + q[1] * eps[:, 0]
    elbo = log_lik(model, "a", z, batch["a"]) - kl(q, standard(z.shape))
    np.testing.assert_allclose(loss, -elbo.mean(), rtol=1e-5)
    np.testing.assert_allclose(terms["bound"][0], elbo, rtol=1e-5)
    # encode uses the same q(z | x_1): q_1 q_2*, not q_1 alone.
    encoded = model.encode({"a": batch["a"]})
    np.testing.assert_allclose(encoded.mean(), q[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(encoded.mean(), gaussian(model.encoders[0](batch["a"]))[0])


@pytest.mark.parametrize("kind", ["SVAE", "VAEVAE", "VAEVAEStar", "VAEVAE-a"])
def test_masks_select_paired_or_unpaired_terms_per_example(tiny, kind):
    """L_comb (eq. 7-10): paired rows give U_ab + U_a + U_b, unpaired U_a or U_b; VAEVAE's
    ELBO: U_ab or U_a or U_b. The loss sums, over the patterns, the mean over their rows."""
    mods = tiny.modalities(TWO)
    model = {"SVAE": lambda: kmvae.SVAE(mods, 2, seed=1),
             "VAEVAE": lambda: kmvae.VAEVAE(mods, 2, seed=1),
             "VAEVAEStar": lambda: kmvae.VAEVAEStar(mods, 2, seed=1),
             "VAEVAE-a": lambda: kmvae.VAEVAE(mods, 2, seed=1, variant="a")}[kind]()
    batch = tiny.batch(model.modalities, 7, seed=3)
    mask = np.array([[1, 1], [1, 0], [1, 0], [0, 1], [1, 1], [1, 0], [1, 1]], bool)
    batch["mask"] = mask
    eps = np.random.default_rng(1).normal(size=(7, 3, 2))
    inject_noise(model, eps)
    loss, terms = objective(model, batch)
    a, b = batch["a"], batch["b"]
    if kind == "SVAE":
        posteriors = svae_posteriors(model, a, b)
    else:
        q_a, q_b = gaussian(model.encoders[0](a)), gaussian(model.encoders[1](b))
        q_ab = product(q_a, q_b) if kind == "VAEVAE-a" else \
            gaussian(model.joint_encoders[0]([a, b]))
        posteriors = (q_a, q_b, q_ab)
    u_a, u_b, u_ab = by_hand(model, batch, eps, posteriors, kind)
    paired, only_a, only_b = mask.all(1), mask[:, 0] & ~mask[:, 1], mask[:, 1] & ~mask[:, 0]
    comb = kind in ("SVAE", "VAEVAEStar")
    value = np.select([paired, only_a], [u_ab + (u_a + u_b if comb else 0), u_a], u_b)
    np.testing.assert_allclose(terms["bound"][0], value, rtol=1e-5, atol=1e-5)
    expected = value[paired].mean() + value[only_a].mean() + value[only_b].mean()
    np.testing.assert_allclose(loss, -expected, rtol=1e-5)


def test_network_counts(tiny):
    for M, kinds in ((2, TWO), (3, THREE)):
        mods = tiny.modalities(kinds)
        svae = kmvae.SVAE(mods, 2)
        assert len(svae.encoders) + len(svae.replacement_encoders) == M ** 2
        vaevae = kmvae.VAEVAE(mods, 2)
        assert len(vaevae.encoders) + len(vaevae.joint_encoders) == 2 ** M - 1
        assert kmvae.VAEVAE(mods, 2, variant="a").joint_encoders == []
    with pytest.raises(ValueError, match="variant must be one of \\('a', 'b'\\); received 'c'"):
        kmvae.VAEVAE(mods, 2, variant="c")
    with pytest.raises(ValueError, match="objective must be one of.*received 'iwae'"):
        kmvae.SVAE(mods, 2, objective="iwae")


def test_svae_three_modalities_posteriors(tiny):
    """Appendix D: q(z|x_1..3) = q_11 q_22 q_33 (D.32); q(z|x_i) = q_ii q_ji q_ki (D.36); a pair
    takes the geometric mean of its two versions (D.34, D.35)."""
    model = kmvae.SVAE(tiny.modalities(THREE), 2, seed=1)
    mask = tiny.every_mask(3)
    batch = tiny.batch(model.modalities, len(mask), seed=4)
    q = model.encode({**batch, "mask": mask})
    x = [batch[n] for n in "abc"]
    own = [gaussian(e(x_m)) for e, x_m in zip(model.encoders, x)]
    rep = {pair: gaussian(e(x[pair[1]]))
           for pair, e in zip(model.replacement_pairs, model.replacement_encoders)}

    def power(expert, w):
        return expert[0], expert[1] / np.sqrt(w)

    for row, present in enumerate(mask):
        P = list(np.flatnonzero(present))
        experts = [own[m] for m in P] + [power(rep[(k, j)], 1 / len(P))
                                         for k in range(3) if k not in P for j in P]
        loc, scale = product(*experts)
        np.testing.assert_allclose(q.mean()[row], loc[row], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(q.stddev()[row], scale[row], rtol=1e-5)


def test_vaevae_three_modalities_comb_sums_every_subset(tiny):
    model = kmvae.VAEVAEStar(tiny.modalities(THREE), 2, seed=1)
    batch = tiny.batch(model.modalities, 2, seed=5)
    batch["mask"] = np.array([[1, 1, 1], [0, 1, 1]], bool)
    inject_noise(model, np.random.default_rng(2).normal(size=(2, 7, 2)))
    x, mask = model.prepare_batch(batch)
    pieces = {k: np.asarray(v) for k, v in
              model.subset_terms(x, mask, *model.subset_posteriors(x)).items()}
    sizes = np.array([len(s) for s in model.subsets])
    u = pieces["log_lik"] - np.where(sizes == 1, pieces["kl_prior"], pieces["kl_children"])
    _, terms = objective(model, batch)
    # Row 0: all 7 subsets (D.28-D.31); row 1: {b}, {c}, {b, c}.
    inside = [k for k, s in enumerate(model.subsets) if 0 not in s]
    np.testing.assert_allclose(terms["bound"][0], [u[0].sum(), u[1, inside].sum()], rtol=1e-5)


def translate_latent(model, shift):
    """Moves every posterior by `shift` `(D,)` (each encoder's loc bias) and lets every decoder
    undo it (the first dense layer's bias, `b - shift W`): the same model in shifted latent
    coordinates, which only the prior p(z) = N(0, I) can tell apart."""
    D = model.latent_dim
    for encoder in model.encoders + list(getattr(model, "joint_encoders", [])):
        bias = encoder.head.dense.bias
        bias.assign(bias.numpy() + np.concatenate([shift, np.zeros(D)]).astype("float32"))
    for decoder in model.decoders:
        first = decoder.backbone.layers[0]
        first.bias.assign(first.bias.numpy() - (shift @ first.kernel.numpy()).astype("float32"))


@pytest.mark.parametrize("kind", ["VAEVAE", "VAEVAEStar"])
def test_vaevae_elbo_on_paired_data_ignores_the_prior(tiny, kind):
    """With every example paired, VAEVAE's loss (Wu & Goodman, as SVAE's Appendix C has it) has
    no term in p(z): only KL(q(z|a,b) || q(z|a)) and KL(q(z|a,b) || q(z|b)). Translating the
    latent space leaves it unchanged, so training at 100% supervision never holds the
    posteriors near N(0, I) (the archived 200-epoch run drifted to KL(q(z|a,b) || p(z)) = 431
    nats); L_comb's unimodal ELBOs (VAEVAE*) tie them to the prior."""
    model = getattr(kmvae, kind)(tiny.modalities(("bernoulli", "normal")), 2, seed=1)
    batch = tiny.batch(model.modalities, 6, seed=4)
    batch["mask"] = np.ones((6, 2), bool)
    inject_noise(model, np.random.default_rng(3).normal(size=(6, 3, 2)))
    loss, terms = objective(model, batch)
    translate_latent(model, np.array([3.0, -2.0]))
    shifted_loss, shifted_terms = objective(model, batch)
    # The reported ELBO of the pair, log p(a, b | z) - KL(q(z|a,b) || p(z)), sees the shift.
    assert np.all(shifted_terms["elbo"][0] < terms["elbo"][0] - 1.0)
    if kind == "VAEVAE":
        np.testing.assert_allclose(shifted_loss, loss, rtol=1e-5)
        np.testing.assert_allclose(shifted_terms["bound"][0], terms["bound"][0], rtol=1e-5,
                                   atol=1e-4)
    else:
        assert shifted_loss > loss + 1.0


def _blocked_model(tiny, kind, kinds):
    mods = tiny.modalities(kinds)
    model = {"SVAE": lambda: kmvae.SVAE(mods, 2, seed=1),
             "VAEVAE": lambda: kmvae.VAEVAE(mods, 2, seed=1),
             "VAEVAEStar": lambda: kmvae.VAEVAEStar(mods, 2, seed=1),
             "VAEVAE-a": lambda: kmvae.VAEVAE(mods, 2, seed=1, variant="a")}[kind]()
    # The same draw for any shape, so that a block's terms see the noise the whole batch's do.
    model.sample_normal = lambda loc, scale: loc + 0.7 * scale
    return model


def _layout_batch(tiny, model, paired, per_view, views, seed=4):
    layout = ((paired, (True,) * model.num_modalities),) + tuple(
        (per_view, tuple(bool(b) for b in view)) for view in views)
    size = paired + per_view * len(views)
    batch = tiny.batch(model.modalities, size, seed=seed)
    batch["mask"] = np.concatenate([np.ones((paired, model.num_modalities), bool)]
                                   + [np.repeat(np.array(v, bool)[None], per_view, 0)
                                      for v in views])
    return batch, layout


@pytest.mark.parametrize("kinds", [TWO, THREE], ids=["M=2", "M=3"])
@pytest.mark.parametrize("kind", ["SVAE", "VAEVAE", "VAEVAEStar", "VAEVAE-a"])
def test_blocked_objective_equals_the_whole_batchs(tiny, kind, kinds):
    """On a batch that follows a layout of blocks (complete rows, then one block per view),
    the objective computed block by block, each from the subsets within its pattern, equals
    the one computed for every subset on every row: loss, reported terms and gradients."""
    import tensorflow as tf
    from kmvae.datasets.pipeline import follows_layout
    model = _blocked_model(tiny, kind, kinds)
    M = model.num_modalities
    views = np.eye(M, dtype=bool).tolist() + ([[True, True, False]] if M == 3 else [])
    batch, layout = _layout_batch(tiny, model, 3, 2, views)
    x, mask = model.prepare_batch(batch)
    assert bool(follows_layout(mask, layout))
    results = []
    for path in (lambda: model._objective(x, mask, True),
                 lambda: model._blocked_objective(x, mask, layout, True)):
        with tf.GradientTape() as tape:
            loss, terms = path()
        gradients = [None if g is None else tf.convert_to_tensor(g)
                     for g in tape.gradient(loss, model.trainable_variables)]
        results.append((loss, terms, gradients))
    (loss, terms, gradients), (blocked_loss, blocked_terms, blocked_gradients) = results
    np.testing.assert_allclose(blocked_loss, loss, rtol=1e-5)
    for key in ("elbo", "bound"):
        np.testing.assert_allclose(blocked_terms[key][0], terms[key][0], rtol=1e-5, atol=1e-5)
    used = [(g, b) for g, b in zip(gradients, blocked_gradients) if g is not None]
    assert len(used) > 0
    assert all(b is not None for g, b in zip(gradients, blocked_gradients) if g is not None)
    for g, b in used:
        np.testing.assert_allclose(b, g, rtol=1e-4, atol=1e-5)
    # compute_objective takes the blocked path only where the batch follows the layout.
    model._batch_layout = layout
    np.testing.assert_allclose(model.compute_objective(x, mask, training=True)[0], loss,
                               rtol=1e-5)


def test_a_batch_off_the_layout_stops_fit(tiny):
    """`fit` checks each batch against its dataset's layout: a batch whose rows do not follow
    it (blocks swapped, a wrong row, another number of rows) stops training with an error
    naming the layout, since the blocks would give another objective than the whole batch."""
    import tensorflow as tf
    from kmvae.datasets.pipeline import follows_layout
    model = _blocked_model(tiny, "SVAE", TWO)
    model.compile(keras_optimizer())
    batch, layout = _layout_batch(tiny, model, 2, 3, [[True, False], [False, True]])
    x, mask = model.prepare_batch(batch)
    assert bool(follows_layout(mask, layout))
    swapped = np.r_[0:2, 5:8, 2:5]
    wrong_row = batch["mask"].copy()
    wrong_row[4] = [False, True]
    for rows, mask in ((swapped, batch["mask"][swapped]), (np.arange(8), wrong_row),
                       (np.arange(7), batch["mask"][:7])):
        off = {key: value[rows] for key, value in batch.items() if key != "mask"}
        off["mask"] = mask
        x, mask = model.prepare_batch(off)
        assert not bool(follows_layout(mask, layout))
        if len(rows) == 8:
            whole = float(model._objective(x, mask, True)[0])
            assert abs(float(model._blocked_objective(x, mask, layout, True)[0]) - whole) > 1e-3
        data = tf.data.Dataset.from_tensors(off)
        data.kmvae_batch_layout = layout
        if len(rows) == 7:
            with pytest.raises(ValueError, match=r"A batch of 7 rows cannot follow the layout "
                                                 r"of blocks .*: it needs 2 complete rows and "
                                                 r"as many rows of each of the 2 others."):
                model.fit(data, epochs=1, verbose=0)
            continue
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"does not follow the layout its dataset records "
                                 r"\(kmvae_batch_layout, blocks of rows and presence pattern\) "
                                 r"\(\(2, \(True, True\)\), \(3, \(True, False\)\)"):
            model.fit(data, epochs=1, verbose=0)


def test_fit_takes_the_layout_of_a_dataset_of_blocks(tiny):
    """`fit` on a `make_dataset` of paired and single-view blocks trains with the layout the
    dataset records (an epoch's shorter last batch included), and leaves the model without it
    afterwards; on a dataset without one it trains on whole batches."""
    import keras
    from kmvae.datasets.pipeline import make_dataset
    model = _blocked_model(tiny, "SVAE", TWO)
    model.compile(keras_optimizer())
    rows = 30
    arrays = tiny.batch(model.modalities, rows, seed=5)
    spec = {"a": {"shape": (5,), "likelihood": "bernoulli"},
            "b": {"shape": (), "likelihood": "categorical"}}
    mask = np.ones((rows, 2), bool)
    mask[6:] = np.array([[True, False], [False, True]] * 12)
    train = make_dataset(arrays, spec, batch_size=10, mask=mask, paired_per_batch=4,
                         unpaired_views=np.eye(2, dtype=bool), views_from="incomplete",
                         shuffle=True)
    layout = ((4, (True, True)), (3, (True, False)), (3, (False, True)))
    assert train.kmvae_batch_layout == layout
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(model._batch_layout))
    history = model.fit(train, epochs=2, verbose=0, callbacks=[record])
    assert seen == [layout] * 16 and model._batch_layout is None
    assert np.all(np.isfinite(history.history["loss"]))
    plain = make_dataset(arrays, spec, batch_size=10, mask=mask)
    assert plain.kmvae_batch_layout is None
    seen.clear()
    model.fit(plain, epochs=1, verbose=0, callbacks=[record])
    assert seen == [None] * 3


def keras_optimizer():
    import keras
    return keras.optimizers.Adam(1e-3)
