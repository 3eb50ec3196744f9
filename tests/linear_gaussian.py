"""A linear-Gaussian two-modality model built from kmvae's public pieces (identity backbones, a
linear decoder head, a fixed-scale normal likelihood), where log p(X), the exact posterior and the
ELBO of any Gaussian proposal are known in closed form. Shared by the estimator and metric tests."""

import keras
import numpy as np
from scipy import stats

import kmvae
from kmvae import Modality

# ----------------------------------------------------------------------------- linear Gaussian
# z ~ N(0, I_2); x1 = K1^T z + b1 + 0.5 e (3 values), x2 = K2^T z + b2 + 0.8 e (2 values). The
# rows of K1 (and of K2) are orthogonal, so every posterior p(z | X_k) is a diagonal Gaussian,
# the product of N(0, I) and one diagonal expert per modality: an MVAE encoder can represent it.
SIGMA = {"x1": 0.5, "x2": 0.8}
K = {"x1": np.array([[1.0, 0.5, 0.0], [-0.25, 0.5, 0.8]]), "x2": np.array([[0.6, 0.0], [0.0, 0.9]])}
B = {"x1": np.array([0.3, -0.2, 0.1]), "x2": np.array([-0.5, 0.4])}


def linear_gaussian_model(cls=kmvae.MVAE, **kwargs):
    modalities = [Modality(name, shape=(B[name].size,), likelihood="normal", scale=SIGMA[name],
                           encoder=keras.layers.Identity(), decoder=keras.layers.Identity())
                  for name in ("x1", "x2")]
    model = cls(modalities, 2, **kwargs)
    for name, encoder, decoder in zip(model.modality_names, model.encoders, model.decoders):
        k, b, s = K[name], B[name], SIGMA[name]
        decoder.head.dense.kernel.assign(k.astype("float32"))      # loc = z K + b
        decoder.head.dense.bias.assign(b.astype("float32"))
        # The expert N(mu, diag(1 / p)) with p = diag(K K^T) / s^2 and mu = K (x - b) / (s^2 p).
        precision = np.diag(k @ k.T) / s ** 2
        loc_kernel = k.T / (s ** 2 * precision)                      # (d, 2)
        std = precision ** -0.5
        raw_scale = np.log(np.expm1(std - 1e-6))                     # inverse softplus
        kernel = np.concatenate([loc_kernel, np.zeros_like(loc_kernel)], axis=1)
        bias = np.concatenate([-b @ loc_kernel, raw_scale])
        encoder.head.dense.kernel.assign(kernel.astype("float32"))
        encoder.head.dense.bias.assign(bias.astype("float32"))
    return model


def exact_log_marginal(x, names):
    """log p(X) of the linear-Gaussian model for the modalities `names`: N(b, W W^T + S)."""
    W = np.concatenate([K[n].T for n in names])
    mean = np.concatenate([B[n] for n in names])
    cov = W @ W.T + np.diag(np.concatenate([np.full(B[n].size, SIGMA[n] ** 2) for n in names]))
    return stats.multivariate_normal.logpdf(np.concatenate([x[n] for n in names], -1), mean, cov)


def exact_posterior(x, names):
    """Mean `(n, 2)` and covariance `(2, 2)` of p(z | X) for the modalities `names`."""
    precision = np.eye(2) + sum(K[n] @ K[n].T / SIGMA[n] ** 2 for n in names)
    cov = np.linalg.inv(precision)
    mean = sum((x[n] - B[n]) @ K[n].T / SIGMA[n] ** 2 for n in names) @ cov
    return mean, cov


def sample_linear_gaussian(n, seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    return {name: (z @ K[name] + B[name] + SIGMA[name] * rng.normal(size=(n, B[name].size)))
            .astype("float32") for name in ("x1", "x2")}


