"""Figures of a trained model, written as PNG files with matplotlib's `Agg` backend.

Each function takes a model and data, writes one PNG and returns its path:
`latent_scatter` (2-D latent codes coloured by class, one panel per encoder subset, and by the
ELBO under each encoder; M2VAE Fig. 4-5's panels for a subset model, data from
`subset_embeddings`), `reconstructions`, `cross_modal_generations`,
`joint_generations`, `latent_manifold` (decoded means on a latent grid, M2VAE Fig. 7),
`coherence_by_size` (coherence against the number of input modalities,
MoPoE Figure 3 centre), `performance_by_size` (several runs' metrics: MoPoE Figure 3's three
panels), `reencoding` (M2VAE Fig. 6, auto re-encoding) and MSNVI's `belief_ellipses`
(Figure 2) and `conflict_over_sweep` (Figure 5).
"""

import math
from pathlib import Path

import numpy as np
import tensorflow as tf

from kmvae.metrics.likelihoods import importance_sampling, iterate_batches
from kmvae.metrics.probe import subset_encodings
from kmvae.subsets import subset_label


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    _pyplot().close(fig)
    return str(path)


def image_shape(model, name):
    """`(height, width)` or `(height, width, channels)` to draw modality `name`: the image shape of
    a convolutional encoder, else a square of the flat size.

    Raises:
        ValueError: when the modality is categorical, or its size is neither a square nor
            whole rows of 28 or 32 pixels (MNIST parts such as 14x28 halves are drawn so).
    """
    index = model.modality_names.index(name)
    modality = model.modalities[index]
    if modality.is_categorical:
        raise ValueError(f"Modality {name!r} is categorical; it has no image to draw.")
    shape = getattr(model.encoders[index].backbone, "image_shape", None)
    if shape is not None:
        return tuple(shape) if shape[-1] != 1 else tuple(shape[:2])
    if len(modality.shape) in (2, 3):
        return modality.shape
    size = modality.event_size
    side = int(round(math.sqrt(size)))
    if side * side == size:
        return (side, side)
    for width in (28, 32):  # colour images (PolyMNIST), parts of MNIST (halves 14x28, ...)
        if size == 3 * width * width:
            return (width, width, 3)
    for width in (28, 32):
        if size % width == 0:
            return (size // width, width)
    raise ValueError(f"Cannot draw modality {name!r} of shape {modality.shape} as an image: "
                     f"its size {size} is neither a square nor rows of 28 or 32 pixels.")


def image_modalities(model):
    """Names of the modalities `image_shape` can draw (not categorical ones, nor, e.g., MoG's
    2-D points), in the model's order."""
    names = []
    for name in model.modality_names:
        try:
            image_shape(model, name)
        except ValueError:
            continue
        names.append(name)
    return names


def _grid(ax, images, shape, columns):
    images = np.asarray(images).reshape((-1,) + tuple(shape))
    rows = math.ceil(len(images) / columns)
    h, w = shape[:2]
    canvas = np.ones((rows * (h + 1), columns * (w + 1)) + tuple(shape[2:]))
    for k, image in enumerate(images):
        r, c = divmod(k, columns)
        canvas[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = image
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])


def subset_embeddings(model, dataset, subsets, label="label", max_examples=1000,
                      elbo_samples=None):
    """The posterior means of each subset of input modalities and, optionally, each example's
    ELBO under that subset's encoder: the data of M2VAE Fig. 4-5 (Korthals et al. 2019), whose
    panels show the embedding of every encoder coloured by class and by the ELBO.

    The ELBO of example n under the encoder of subset M' is M2VAE's eq. 12,
    `(1/K) sum_k log p(X_n, z_k) / q(z_k | X_n,M')`, `z_k ~ q(z | X_n,M')`, with X all of
    `model.conditioning_modalities` (`kmvae.metrics.importance_sampling(...).elbo`). The
    batches are read once, so codes, labels and ELBOs belong to the same examples even when
    `dataset` reshuffles on every iteration.

    Args:
        model: a `kmvae.models.MultimodalVAE`.
        dataset: batches (dicts) holding the modalities and `label`.
        subsets: lists of modality names.
        label: key of the class ids.
        max_examples: the first this many examples (None: all).
        elbo_samples: K, samples per example of the ELBO (None: no ELBO).

    Returns:
        dict `subset_label(M')` -> `(z, y, elbo)`: `(N, latent_dim)` float32 posterior means,
        `(N,)` int class ids and `(N,)` float64 ELBOs in nats (None without `elbo_samples`).

    Raises:
        ValueError: `elbo_samples` < 1, or the batches lack a modality or `label`.
    """
    if elbo_samples is not None and int(elbo_samples) < 1:
        raise ValueError(f"elbo_samples (K) must be a positive int or None; received "
                         f"{elbo_samples!r}.")
    needed = [n for s in subsets for n in s] + [label]
    if elbo_samples is not None:
        needed += list(model.conditioning_modalities)
    needed = list(dict.fromkeys(needed))                  # each name once, in order
    batches = [{n: np.asarray(v) for n, v in batch.items()}
               for batch in iterate_batches(dataset, needed, max_examples)]
    codes = subset_encodings(model, batches, subsets, label)
    result = {}
    for subset in subsets:
        z, y = codes[subset_label(subset)]
        elbo = None
        if elbo_samples is not None:
            elbo = importance_sampling(model, batches, list(model.conditioning_modalities),
                                       list(subset), int(elbo_samples)).elbo
        result[subset_label(subset)] = (z, y, elbo)
    return result


def latent_scatter(model, dataset, path, label="label", subsets=None, max_examples=1000,
                   elbo_samples=None):
    """Scatter of the posterior means, one panel per subset of input modalities, coloured by
    class; with `elbo_samples` a second row coloured by each example's ELBO (M2VAE eq. 12) under
    that panel's encoder, on one colour scale for all panels (M2VAE Fig. 4-5: the ELBOs of one
    model's encoders compare, those of different models do not). A latent space of more than 2
    dimensions is projected on the first two principal components of all panels' codes
    together (so the panels share axes).

    Args:
        model, dataset, label, subsets, max_examples, elbo_samples: see `subset_embeddings`
            (`subsets` default: `model.conditioning_subsets()`).
        path: the PNG to write.

    Returns:
        `path` as a string.
    """
    plt = _pyplot()
    if subsets is None:
        subsets = model.conditioning_subsets()
    embeddings = subset_embeddings(model, dataset, subsets, label, max_examples, elbo_samples)
    codes = [embeddings[subset_label(s)] for s in subsets]
    stacked = np.concatenate([z for z, _, _ in codes])
    if stacked.shape[1] > 2:
        from sklearn.decomposition import PCA
        pca = PCA(2).fit(stacked)
        codes = [(pca.transform(z), y, elbo) for z, y, elbo in codes]
        axis_names = ("PC 1", "PC 2")
    else:
        axis_names = ("z1", "z2")
    rows = 1 if elbo_samples is None else 2
    fig, axes = plt.subplots(rows, len(subsets), figsize=(3.2 * len(subsets), 3.4 * rows),
                             squeeze=False, gridspec_kw={"hspace": 0.4})
    for ax, subset, (z, y, _) in zip(axes[0], subsets, codes):
        points = ax.scatter(z[:, 0], z[:, 1], c=y, cmap="tab10", s=4, vmin=-0.5, vmax=9.5)
        ax.set_title(f"q(z | {subset_label(subset)})", fontsize=9)
    fig.colorbar(points, ax=list(axes[0]), shrink=0.8, label=label)
    if elbo_samples is not None:
        # One scale for the row, its 2nd-98th percentiles: a few very poor fits would
        # otherwise take the whole colour map.
        low, high = np.percentile(np.concatenate([e for _, _, e in codes]), [2, 98])
        for ax, subset, (z, _, elbo) in zip(axes[1], subsets, codes):
            points = ax.scatter(z[:, 0], z[:, 1], c=elbo, cmap="viridis", s=4, vmin=low,
                                vmax=high)
            ax.set_title(f"ELBO under q(z | {subset_label(subset)})", fontsize=9)
        fig.colorbar(points, ax=list(axes[1]), shrink=0.8,
                     label=f"ELBO (eq. 12, K = {int(elbo_samples)}), nats")
    for ax in axes.ravel():
        ax.set_xlabel(axis_names[0], fontsize=8)
        ax.set_ylabel(axis_names[1], fontsize=8)
        ax.tick_params(labelsize=7)
    return _save(fig, path)


def reconstructions(model, batch, path, modality="image", num_examples=10):
    """Rows: the data, its reconstruction from itself alone, and from all modalities (decoded
    means at the posterior mean)."""
    plt = _pyplot()
    shape = image_shape(model, modality)
    batch = {n: np.asarray(batch[n])[:num_examples] for n in model.modality_names}
    rows = [("data", batch[modality]),
            (f"from {modality}",
             model.translate({modality: batch[modality]}, [modality])[modality]),
            ("from all", model.translate(batch, [modality])[modality])]
    fig, axes = plt.subplots(len(rows), 1, figsize=(num_examples * 0.6, len(rows) * 0.8))
    for ax, (title, images) in zip(axes, rows):
        _grid(ax, images, shape, num_examples)
        ax.set_ylabel(title, fontsize=7, rotation=0, ha="right", va="center")
    return _save(fig, path)


def cross_modal_generations(model, path, source="label", target="image", num_samples=8):
    """Generations of `target` from each class of the categorical `source`: row c holds
    `num_samples` decoded means at draws `z ~ q(z | source = c)`."""
    plt = _pyplot()
    modality = model.modalities[model.modality_names.index(source)]
    if not modality.is_categorical:
        raise ValueError(f"cross_modal_generations needs a categorical source; {source!r} is "
                         f"{modality.likelihood}.")
    shape = image_shape(model, target)
    classes = np.repeat(np.arange(modality.num_classes, dtype=np.int32), num_samples)
    images = model.translate({source: classes}, [target], sample=True)[target]
    fig, ax = plt.subplots(figsize=(num_samples * 0.6, modality.num_classes * 0.6))
    _grid(ax, images, shape, num_samples)
    ax.set_yticks([(k + 0.5) * (shape[0] + 1) for k in range(modality.num_classes)])
    ax.set_yticklabels([str(k) for k in range(modality.num_classes)], fontsize=7)
    ax.set_ylabel(f"{source} given")
    ax.set_title(f"{target} ~ p({target} | z), z ~ q(z | {source})", fontsize=8)
    return _save(fig, path)


def joint_generations(model, path, image="image", label="label", num_samples=40, columns=10,
                      seed=0):
    """Joint generations from the prior: the decoded `image` of draws `z ~ p(z)`, each titled
    with the generated `label`'s most probable class (if the model has a categorical `label`)."""
    plt = _pyplot()
    shape = image_shape(model, image)
    targets = [image] + ([label] if label in model.modality_names else [])
    generated = model.generate(num_samples, seed=seed, targets=targets)
    rows = math.ceil(num_samples / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.7, rows * 0.8))
    for k, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if k >= num_samples:
            continue
        ax.imshow(np.asarray(generated[image][k]).reshape(shape), cmap="gray", vmin=0, vmax=1)
        if label in generated:
            ax.set_title(str(int(np.argmax(generated[label][k]))), fontsize=7, pad=1)
    return _save(fig, path)


def latent_grid(latent_dim, grid_size, span=2.0, dims=(0, 1)):
    """`(grid_size**2, latent_dim)` float32 latent codes of `latent_manifold`, row-major: code
    `r * grid_size + c` has `z[dims[0]] = span * (2c / (grid_size - 1) - 1)` (left to right)
    and `z[dims[1]] = span * (1 - 2r / (grid_size - 1))` (top to bottom), the other dimensions
    0."""
    axis = np.linspace(-span, span, grid_size, dtype=np.float32)
    rows, columns = np.meshgrid(axis[::-1], axis, indexing="ij")
    z = np.zeros((grid_size * grid_size, latent_dim), np.float32)
    z[:, dims[0]], z[:, dims[1]] = columns.ravel(), rows.ravel()
    return z


def latent_manifold(model, path, modalities=None, grid_size=15, span=2.0, dims=(0, 1)):
    """M2VAE Fig. 7, right (Korthals et al. 2019): the decoders' means on a regular grid of the
    latent space, "z sampled linearly within 2 sigma of the prior", one panel per image
    modality.

    The panel's image in row r, column c is decoded at `latent_grid(...)[r * grid_size + c]`:
    `z[dims[0]]` grows to the right, `z[dims[1]]` upwards, every other latent dimension at the
    prior's mean 0 (the prior is `N(0, I)`, so `span = 2` is 2 sigma).

    Args:
        model: a `kmvae.models.MultimodalVAE` with `latent_dim >= 2`.
        path: the PNG to write.
        modalities: names of the image modalities to draw (default: `image_modalities`).
        grid_size: points per axis.
        span: half-width of the grid, in prior standard deviations.
        dims: the two latent dimensions spanned.

    Returns:
        `path` as a string.

    Raises:
        ValueError: latent_dim < 2, `dims` out of range, a modality that cannot be drawn, or
            none to draw.
    """
    if model.latent_dim < 2:
        raise ValueError(f"latent_manifold needs latent_dim >= 2; the model has "
                         f"{model.latent_dim}.")
    i, j = dims
    if i == j or not (0 <= i < model.latent_dim and 0 <= j < model.latent_dim):
        raise ValueError(f"dims must be two different latent dimensions in [0, "
                         f"{model.latent_dim}); received {dims!r}.")
    if modalities is None:
        modalities = image_modalities(model)
    if not modalities:
        raise ValueError(f"None of the modalities {model.modality_names} is an image to draw.")
    shapes = {name: image_shape(model, name) for name in modalities}
    plt = _pyplot()
    z = tf.constant(latent_grid(model.latent_dim, grid_size, span, dims))
    means = {name: model.decoders[model.modality_names.index(name)].mean(z)
             for name in modalities}
    fig, axes = plt.subplots(1, len(modalities), figsize=(4 * len(modalities), 4),
                             squeeze=False)
    for ax, name in zip(axes[0], modalities):
        _grid(ax, np.asarray(means[name]), shapes[name], grid_size)
        ax.set_title(f"mean of p({name} | z), z[{i}], z[{j}] in [-{span:g}, {span:g}]",
                     fontsize=8)
    return _save(fig, path)


def coherence_by_size(results, path):
    """Coherence against the number of input modalities (MoPoE Figure 3, centre).

    Args:
        results: dict model name -> `conditional_coherence(...)["by_size"]` (`"k"` -> value),
            or one such `"by_size"` dict.
    """
    plt = _pyplot()
    if results and all(not isinstance(v, dict) for v in results.values()):
        results = {"model": results}
    fig, ax = plt.subplots(figsize=(3.5, 2.8))
    for name, by_size in results.items():
        sizes = sorted(by_size, key=int)
        ax.plot([int(s) for s in sizes], [by_size[s] for s in sizes], marker="o", label=name)
    ax.set_xlabel("number of input modalities")
    ax.set_ylabel("conditional coherence")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    return _save(fig, path)


BY_SIZE_PANELS = (
    ("latent_probe_by_size", "linear classification accuracy", (0, 1.02)),
    ("coherence", "conditional coherence", (0, 1.02)),
    ("subset_log_likelihood_by_size", "log-likelihood (nats)", None),
)


def performance_by_size(runs, path):
    """MoPoE Figure 3: three panels against the number of input modalities, one line per model.

    Left: linear-probe accuracy of the codes of the subsets (`latent_probe_by_size`); centre:
    conditional coherence of the generated modalities outside the subset
    (`coherence["by_size"]`); right: log-likelihood of all modalities with the subset's
    posterior as proposal, nats per example (`subset_log_likelihood_by_size`). Each value is the
    average over the subsets of that size (`kmvae.metrics.subsets.by_size`).

    Args:
        runs: dict model name -> the run's metrics (`kmvae.evaluate.compute_metrics`'s dict);
            a missing quantity leaves that model's line out of its panel.
        path: the PNG to write.

    Returns:
        `path` as a string.

    Raises:
        ValueError: when no run holds any of the three quantities.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.0))
    drawn = 0
    for ax, (key, title, limits) in zip(axes, BY_SIZE_PANELS):
        for i, (name, result) in enumerate(runs.items()):
            values = result.get(key) or {}
            if key == "coherence":
                values = values.get("by_size") or {}
            if not values:
                continue
            sizes = sorted(values, key=int)
            ax.plot([int(k) for k in sizes], [values[k] for k in sizes], marker="o",
                    color=f"C{i}", label=name)      # a model keeps its colour in every panel
            drawn += 1
        ax.set_xlabel("number of input modalities")
        ax.set_title(title, fontsize=9)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if limits is not None:
            ax.set_ylim(*limits)
        ax.tick_params(labelsize=8)
    if not drawn:
        plt.close(fig)
        raise ValueError("performance_by_size: none of the runs holds latent_probe_by_size, "
                         "coherence['by_size'] or subset_log_likelihood_by_size; evaluate them "
                         "with kmvae.evaluate.compute_metrics first.")
    legend = {}
    for ax in axes:
        for handle, name in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(name, handle)
    fig.legend(list(legend.values()), list(legend), loc="upper center", ncol=len(legend),
               fontsize=8, bbox_to_anchor=(0.5, 1.08))
    fig.tight_layout()
    return _save(fig, path)


def reencoding(model, batch, path, steps=10, num_seeds=10, grid_size=50, dims=(0, 1)):
    """M2VAE Fig. 6 (Korthals et al. 2019, section 5.2, in-place sensor fusion by auto
    re-encoding, eq. 13) for a subset model (`kmvae.models.SubsetVAE`: M2VAE, JMVAE,
    JMVAE-Zero, tVAE, ...).

    Background: two latent dimensions `dims` on a `grid_size`^2 grid (the other dimensions at
    0), coloured by the reconstruction loss after one auto re-encoding of each grid point z,
    `-sum_m log p(x_m' | z')` (nats per point; x' the decoded means at z, the most likely class
    for a categorical modality, and z' the mean of `q(z | x')`, the all-modality encoder).
    Dots: the posterior means `q(z | batch)` (all modalities); lines: the trajectories of
    `model.reencode` from the first `num_seeds` of them, `steps` steps each.

    Args:
        model: a subset model with `latent_dim >= 2` (its `reencode` and `decoded_inputs`).
        batch: batch dict holding every modality, `(batch,) + shape` each (a `"label"` key is
            ignored unless it is a modality).
        path: the PNG to write.

    Returns:
        `path` as a string.

    Raises:
        ValueError: if the model has fewer than two latent dimensions.
    """
    if model.latent_dim < 2:
        raise ValueError(f"reencoding needs latent_dim >= 2; the model has "
                         f"{model.latent_dim}.")
    plt = _pyplot()
    batch = {n: batch[n] for n in model.modality_names}
    means = np.asarray(model.encode(batch).mean())
    trajectory = np.asarray(model.reencode(means[:num_seeds], steps=steps))
    i, j = dims
    span = np.abs(means[:, [i, j]]).max() * 1.2 + 1e-3
    axis = np.linspace(-span, span, grid_size, dtype=np.float32)
    grid = np.zeros((grid_size * grid_size, model.latent_dim), np.float32)
    grid[:, i], grid[:, j] = [a.ravel() for a in np.meshgrid(axis, axis)]
    inputs = model.decoded_inputs(tf.constant(grid))
    z_prime = model.encode(inputs).mean()
    loss = -sum(model.decoders[model.modality_names.index(n)](z_prime).log_prob(v)
                for n, v in inputs.items())
    fig, ax = plt.subplots(figsize=(6, 5))
    image = ax.imshow(np.asarray(loss).reshape(grid_size, grid_size), origin="lower",
                      extent=(-span, span, -span, span), cmap="viridis", aspect="auto")
    fig.colorbar(image, ax=ax, label="reconstruction loss after re-encoding (nats)")
    ax.scatter(means[:, i], means[:, j], s=4, c="white",
               label=f"q(z | {subset_label(model.modality_names)}) means")
    for seed in range(trajectory.shape[1]):
        ax.plot(trajectory[:, seed, i], trajectory[:, seed, j], "k.-", lw=1, ms=3)
    ax.set_xlabel(f"z[{i}]")
    ax.set_ylabel(f"z[{j}]")
    ax.set_title(f"{type(model).__name__}: auto re-encoding, {steps} steps", fontsize=9)
    return _save(fig, path)


def belief_ellipses(model, inputs, path, sources=None, integration="poe", num_samples=10,
                    seed=0):
    """MSNVI Figure 2: the individual beliefs of each source and their integration, for a 2-D
    latent space, and data generated from samples of them.

    Left column: samples `x ~ p(x | z)` decoded (means) from `num_samples` draws of each belief,
    in observation space (the first two dimensions of the concatenated observations). Right
    column: each belief `q_m(z | x_m)` drawn as its 1-standard-deviation ellipse (axis-aligned:
    diagonal Gaussians), one colour per example, one marker style per source; the bottom row the
    integrated belief (`integration`, MSNVI eq. 3 for `"poe"`).

    Args:
        model: a `kmvae.MSNVI` with `latent_dim == 2`.
        inputs: batch dict of the sources, e.g. MSNVI's 8 rotated component means.
        path: the PNG to write.
        sources: the source names (default the model's).

    Returns:
        `path` as a string.

    Raises:
        ValueError: latent_dim is not 2, or a name is no source.
    """
    from matplotlib.patches import Ellipse

    if model.latent_dim != 2:
        raise ValueError(f"belief_ellipses draws a 2-D latent space; the model has latent_dim "
                         f"{model.latent_dim}.")
    sources = list(model.sources if sources is None else sources)
    plt = _pyplot()
    colours = plt.cm.tab10(np.linspace(0, 1, 10))
    markers = "ox^sv+"
    fig, axes = plt.subplots(2, 2, figsize=(9, 9))
    beliefs = [(name, model.belief(inputs, name)) for name in sources]
    beliefs.append(("integrated", model.encode({n: inputs[n] for n in sources},
                                               integration=integration)))
    for row, group in ((0, beliefs[:-1]), (1, beliefs[-1:])):
        for s, (name, q) in enumerate(group):
            mean, std = np.asarray(q.mean()), np.asarray(q.stddev())
            z = q.sample(num_samples, seed=seed)                       # (S, B, 2)
            decoded = [np.asarray(model.decoders[model.modality_names.index(o)].mean(z))
                       for o in model.observations]
            x = np.concatenate([d.reshape(d.shape[0], d.shape[1], -1) for d in decoded], -1)
            for b in range(mean.shape[0]):
                colour = colours[b % 10]
                axes[row, 0].scatter(x[:, b, 0], x[:, b, 1], color=colour, s=12,
                                     marker=markers[s % len(markers)])
                axes[row, 1].add_patch(Ellipse(mean[b], 2 * std[b, 0], 2 * std[b, 1],
                                               fill=False, color=colour,
                                               linestyle="-" if s == 0 else "--"))
                axes[row, 1].plot(*mean[b], marker=markers[s % len(markers)], color=colour)
        label = ("individual beliefs: " + ", ".join(n for n, _ in group)) if row == 0 else \
            f"integrated belief ({integration})"
        axes[row, 0].set_title(f"generated from {label}", fontsize=9)
        axes[row, 1].set_title(label, fontsize=9)
        axes[row, 1].autoscale_view()
        for ax in axes[row]:
            ax.set_aspect("equal", adjustable="datalim")
    return _save(fig, path)


def conflict_over_sweep(model, batches, positions, path, m, m_prime, targets=None):
    """MSNVI Figure 5: predictions from single and integrated sources along a sweep (e.g. the
    pendulum's angle), and the conflict measure c(m || m') (eq. 2) along it.

    Args:
        model: a `kmvae.MSNVI`.
        batches: iterable of batch dicts in sweep order (the unshuffled test split).
        positions: `(n,)` the sweep variable of the n examples (e.g. angles in radians).
        path: the PNG to write.
        m, m_prime: the sources compared by the conflict measure.
        targets: the observation predicted (default the model's first observation); its first
            two values are drawn.

    Returns:
        `path` as a string.
    """
    target = model.observations[0] if targets is None else targets
    decoder = model.decoders[model.modality_names.index(target)]
    predictions = {name: [] for name in (*model.sources, "integrated")}
    conflicts = []
    for batch in batches:
        for name in model.sources:
            predictions[name].append(np.asarray(decoder.mean(model.belief(batch, name).mean())))
        integrated = model.encode({n: batch[n] for n in model.sources})
        predictions["integrated"].append(np.asarray(decoder.mean(integrated.mean())))
        conflicts.append(np.asarray(model.conflict(batch, m, m_prime)))
    positions = np.asarray(positions)
    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    for name, parts in predictions.items():
        values = np.concatenate(parts)[:len(positions)]
        for d in range(min(2, values.shape[-1])):
            axes[d].plot(positions, values[:, d], label=name,
                         linewidth=2 if name == "integrated" else 1)
    for d in range(2):
        axes[d].set_ylabel(f"{target}[{d}]")
    axes[0].legend(fontsize=8)
    axes[2].plot(positions, np.concatenate(conflicts)[:len(positions)])
    axes[2].set_ylabel(f"c({m} || {m_prime})")
    axes[2].set_xlabel("sweep")
    return _save(fig, path)
