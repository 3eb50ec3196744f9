"""Every plot writes a PNG of a tiny model's outputs."""

import numpy as np
import pytest
import tensorflow as tf

import kmvae
from kmvae import Modality, metrics

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def model_and_data():
    modalities = [Modality("image", shape=(16,), likelihood="bernoulli"),
                  Modality("label", num_classes=4, likelihood="categorical")]
    model = kmvae.MVAE(modalities, 3, seed=0)
    rng = np.random.default_rng(0)
    batch = {"image": rng.random((40, 16)).astype(np.float32),
             "label": rng.integers(0, 4, 40).astype(np.int32)}
    return model, batch, tf.data.Dataset.from_tensor_slices(batch).batch(20)


def is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == PNG


def test_plots_write_pngs(model_and_data, tmp_path):
    model, batch, data = model_and_data
    paths = [
        metrics.plots.latent_scatter(model, data, tmp_path / "latent.png"),
        metrics.plots.reconstructions(model, batch, tmp_path / "rec.png", num_examples=6),
        metrics.plots.cross_modal_generations(model, tmp_path / "cross.png", num_samples=3),
        metrics.plots.joint_generations(model, tmp_path / "joint.png", num_samples=12,
                                        columns=6),
        metrics.plots.coherence_by_size({"MVAE": {"1": 0.5}, "MoPoE": {"1": 0.7, "2": 0.9}},
                                        tmp_path / "coherence.png"),
    ]
    for path in paths:
        assert is_png(path)


def test_image_shape_errors(model_and_data):
    model = model_and_data[0]
    assert metrics.plots.image_shape(model, "image") == (4, 4)
    with pytest.raises(ValueError, match="categorical"):
        metrics.plots.image_shape(model, "label")
    with pytest.raises(ValueError, match="needs a categorical source"):
        metrics.plots.cross_modal_generations(model, "x.png", source="image", target="image")


def test_image_shapes_of_parts_and_colour_images():
    import kmvae
    from kmvae.metrics.plots import image_shape
    mods = [kmvae.Modality("top", shape=(392,)), kmvae.Modality("rgb", shape=(2352,)),
            kmvae.Modality("third", shape=(252,)), kmvae.Modality("odd", shape=(390,))]
    model = kmvae.MVAE(mods, 2)
    assert image_shape(model, "top") == (14, 28)
    assert image_shape(model, "rgb") == (28, 28, 3)
    assert image_shape(model, "third") == (9, 28)
    with pytest.raises(ValueError, match="'odd'.*390"):
        image_shape(model, "odd")


def test_performance_by_size_draws_figure_3_of_several_runs(tmp_path):
    runs = {"MVAE": {"latent_probe_by_size": {"1": 0.5, "2": 0.6, "3": 0.7},
                     "coherence": {"by_size": {"1": 0.2, "2": 0.3}, "joint": 0.1},
                     "subset_log_likelihood_by_size": {"1": -900.0, "2": -850.0, "3": -800.0}},
            "MoPoE": {"latent_probe_by_size": {"1": 0.7, "2": 0.8, "3": 0.9}}}
    path = metrics.plots.performance_by_size(runs, tmp_path / "figure3.png")
    assert is_png(path)
    with pytest.raises(ValueError, match="none of the runs holds"):
        metrics.plots.performance_by_size({"MVAE": {"epochs": 3}}, tmp_path / "empty.png")


def test_reencoding_draws_the_landscape_and_the_trajectories_of_reencode(drawn, tmp_path):
    """M2VAE Fig. 6: the dots are q(z | a, b) means (the joint encoder), the lines the
    re-encoding trajectories from the first seeds, the background the reconstruction loss of
    one decode -> encode -> decode round trip of each grid point, computed here by hand."""
    modalities = [Modality("a", shape=(16,), likelihood="bernoulli"),
                  Modality("b", num_classes=4, likelihood="categorical")]
    model = kmvae.M2VAE(modalities, 2, seed=0)
    rng = np.random.default_rng(1)
    batch = {"a": rng.random((20, 16)).astype(np.float32),
             "b": rng.integers(0, 4, 20).astype(np.int32),
             "label": rng.integers(0, 4, 20).astype(np.int32)}
    path = metrics.plots.reencoding(model, batch, tmp_path / "reencoding.png", steps=3,
                                    num_seeds=4, grid_size=12)
    assert is_png(path) and path.endswith("reencoding.png")
    panel = drawn[-1][0]
    means = np.asarray(model.joint_encoders[0]([batch["a"], batch["b"]]).mean())
    np.testing.assert_allclose(panel["points"][0], means, rtol=1e-5, atol=1e-6)
    trajectory = np.asarray(model.reencode(means[:4], steps=3))
    assert len(panel["lines"]) == 4
    for seed, line in enumerate(panel["lines"]):
        np.testing.assert_allclose(line, trajectory[:, seed], rtol=1e-5, atol=1e-6)
    span = np.abs(means).max() * 1.2 + 1e-3
    axis = np.linspace(-span, span, 12, dtype=np.float32)
    grid = np.stack([a.ravel() for a in np.meshgrid(axis, axis)], axis=-1)
    a = model.decoders[0].mean(grid)
    b = tf.argmax(model.decoders[1].mean(grid), axis=-1, output_type=tf.int32)
    z = model.joint_encoders[0]([a, b]).mean()
    loss = -(model.decoders[0](z).log_prob(a) + model.decoders[1](z).log_prob(b))
    np.testing.assert_allclose(panel["images"][0], np.reshape(loss, (12, 12)), rtol=1e-4)
    with pytest.raises(ValueError, match="latent_dim >= 2; the model has 1"):
        metrics.plots.reencoding(kmvae.M2VAE(modalities, 1), batch, tmp_path / "x.png")


def test_subset_embeddings_follow_each_example_through_a_reshuffling_dataset():
    """Codes, labels and ELBOs stay aligned when the data set reshuffles on every pass, and the
    ELBO of each example under each subset's encoder matches a brute-force Monte Carlo ELBO
    (M2VAE eq. 12) computed from the encoder and decoders directly."""
    modalities = [Modality("a", shape=(6,), likelihood="bernoulli"),
                  Modality("b", shape=(4,), likelihood="normal")]
    model = kmvae.MVAE(modalities, 2, seed=1)
    rng = np.random.default_rng(1)
    n = 12
    data = {"a": (rng.random((n, 6)) > 0.5).astype(np.float32),
            "b": rng.normal(size=(n, 4)).astype(np.float32),
            "label": np.arange(n, dtype=np.int32)}       # the label names the example
    dataset = (tf.data.Dataset.from_tensor_slices(data)
               .shuffle(n, seed=3, reshuffle_each_iteration=True).batch(5))
    subsets = [["a"], ["b"], ["a", "b"]]
    embeddings = metrics.plots.subset_embeddings(model, dataset, subsets, max_examples=10,
                                                 elbo_samples=4000)
    tf.random.set_seed(7)
    for subset in subsets:
        z, y, elbo = embeddings[",".join(subset)]
        assert z.shape == (10, 2) and y.shape == (10,) and elbo.shape == (10,)
        assert len(set(y.tolist())) == 10
        inputs = {m: data[m][y] for m in subset}
        q = model.encode(inputs)
        np.testing.assert_allclose(z, q.mean().numpy(), rtol=1e-5, atol=1e-6)
        draws = q.sample(20000)                                   # (S, 10, 2)
        log_w = model.prior().log_prob(draws) - q.log_prob(draws)
        for i, name in enumerate(model.modality_names):
            log_w += model.decoders[i](draws).log_prob(data[name][y])
        brute = tf.reduce_mean(log_w, axis=0).numpy()
        spread = tf.math.reduce_std(log_w, axis=0).numpy()
        # 4,000 draws in the estimate under test: 5 of its standard errors.
        assert np.all(np.abs(elbo - brute) < 5 * spread / np.sqrt(4000) + 1e-3), subset


def test_latent_scatter_with_elbo_row_and_bad_samples(model_and_data, tmp_path):
    model, _, data = model_and_data
    assert is_png(metrics.plots.latent_scatter(model, data, tmp_path / "l.png",
                                               elbo_samples=3))
    with pytest.raises(ValueError, match="elbo_samples"):
        metrics.plots.subset_embeddings(model, data, [["image"]], elbo_samples=0)
    with pytest.raises(ValueError, match="'digit'"):
        metrics.plots.subset_embeddings(model, data, [["image"]], label="digit")


def test_latent_grid_layout():
    z = metrics.plots.latent_grid(3, 5, span=2.0, dims=(2, 0))
    assert z.shape == (25, 3) and z.dtype == np.float32
    grid = z.reshape(5, 5, 3)
    np.testing.assert_allclose(grid[0, :, 2], [-2, -1, 0, 1, 2])     # left to right
    np.testing.assert_allclose(grid[:, 0, 0], [2, 1, 0, -1, -2])     # top to bottom
    np.testing.assert_array_equal(grid[..., 1], 0)                    # the unspanned dimension


def test_latent_manifold_draws_the_image_modalities(tmp_path):
    modalities = [Modality("a", shape=(16,)), Modality("b", shape=(28 * 2,)),
                  Modality("label", num_classes=3, likelihood="categorical")]
    model = kmvae.MVAE(modalities, 2, seed=0)
    assert is_png(metrics.plots.latent_manifold(model, tmp_path / "m.png", grid_size=4))
    with pytest.raises(ValueError, match="categorical"):
        metrics.plots.latent_manifold(model, tmp_path / "m.png", modalities=["label"])
    with pytest.raises(ValueError, match=r"dims .*received \(0, 0\)"):
        metrics.plots.latent_manifold(model, tmp_path / "m.png", dims=(0, 0))
    with pytest.raises(ValueError, match="latent_dim >= 2"):
        metrics.plots.latent_manifold(kmvae.MVAE(modalities, 1), tmp_path / "m.png")
