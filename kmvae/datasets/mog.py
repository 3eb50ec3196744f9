"""Two-dimensional mixture-of-Gaussians toys with partial or ambiguous views.

`mog2d_sources`: MSNVI (Kurle, Guennemann & van der Smagt, AAAI 2019) section 5.1, "Learning
beliefs from complementary information sources". A point is drawn from an equally weighted
mixture of 8 isotropic bivariate normals with standard deviation 0.1 whose means lie on the
unit circle at the equidistant angles 2 pi k / 8, k = 0..7 (the component k is the `"label"`).
Source `x1` perceives only its first coordinate and source `x2` only its second; the observation
`x` is the 2-D point itself. The paper's test inputs, the 8 means rotated by 2 degrees, are
`paper_test_points()`.

`mog_bimodal`: M2VAE (Korthals et al., ICLR 2019 submission) section 4.2, "MoG-Example". Ten
classes, each seen by two 2-D modalities with class-conditional isotropic normals. In `a` the
class means lie on a 3 x 3 grid where classes (5, 6, 7) share one mean and (0, 8) share another;
in `b` they lie on a circle where (0, 9) share one mean. A single modality therefore leaves
classes ambiguous that the pair resolves (class 0 is ambiguous in both alone, unambiguous
jointly), the paper's p(a | z1..z4, z9) and p(b | z1..z8). The paper gives this layout but not
the coordinates, spreads or sample sizes (its Fig. 3 only plots them); `A_MEANS`, `B_MEANS` and
`BIMODAL_STD` are this module's choice, inside (-1, 1) to suit the paper's tanh decoders.

Both data sets are generated with numpy from a `data_seed` (the same data for every user), train
and test from independent streams, and cached in memory.
"""

import functools
import math
import numbers

import numpy as np

from kmvae.datasets import registry

# MSNVI section 5.1 -----------------------------------------------------------------------------
CIRCLE_COMPONENTS = 8
CIRCLE_STD = 0.1
CIRCLE_MEANS = np.stack([np.cos(2 * np.pi * np.arange(CIRCLE_COMPONENTS) / CIRCLE_COMPONENTS),
                         np.sin(2 * np.pi * np.arange(CIRCLE_COMPONENTS) / CIRCLE_COMPONENTS)],
                        axis=1)  # (8, 2): component k at angle 2 pi k / 8 on the unit circle
TEST_ROTATION_DEGREES = 2.0

# M2VAE section 4.2 -----------------------------------------------------------------------------
NUM_CLASSES = 10
BIMODAL_STD = 0.05
_GRID = 0.5  # spacing of modality a's grid
# Modality a, a 3 x 3 grid (7 cells used): (0, 8) share the bottom-left cell, (5, 6, 7) the
# middle-right one; 1, 2, 3, 4 and 9 have cells of their own.
A_MEANS = _GRID * np.array([[-1, -1],   # 0  = 8
                            [0, -1],    # 1
                            [1, -1],    # 2
                            [-1, 0],    # 3
                            [0, 0],     # 4
                            [1, 0],     # 5  = 6 = 7
                            [1, 0],     # 6
                            [1, 0],     # 7
                            [-1, -1],   # 8
                            [-1, 1]],   # 9
                           dtype=np.float64)
# Modality b, 9 equidistant points on a circle of radius 0.75: class k (0..8) at angle
# 2 pi k / 9, and class 9 on class 0's point.
B_RADIUS = 0.75
_B_ANGLES = 2 * np.pi * np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 0]) / 9
B_MEANS = B_RADIUS * np.stack([np.cos(_B_ANGLES), np.sin(_B_ANGLES)], axis=1)

DEFAULT_TRAIN_EXAMPLES = 10_000
DEFAULT_TEST_EXAMPLES = 2_000
_SPLIT_STREAM = {"train": 0, "test": 1}
_SET_STREAM = {"mog2d_sources": 0, "mog_bimodal": 1}

for _array in (CIRCLE_MEANS, A_MEANS, B_MEANS):
    _array.flags.writeable = False


def check_count(key, value):
    """`value` as an int >= 1; raises ValueError naming `key` and the value received."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{key} must be an int >= 1; received {key}={value!r}.")
    return int(value)


def check_data_seed(value):
    """`value` as an int >= 0; raises ValueError naming the value received."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"data_seed must be an int >= 0; received data_seed={value!r}.")
    return int(value)


def _check_split(split):
    if split not in _SPLIT_STREAM:
        raise ValueError(f"split must be one of {tuple(_SPLIT_STREAM)}; received "
                         f"split={split!r}.")
    return split


def _size(split, num_examples, num_test_examples):
    return check_count("num_examples", num_examples) if split == "train" else check_count(
        "num_test_examples", num_test_examples)


def _rng(name, split, data_seed):
    return np.random.default_rng([check_data_seed(data_seed), _SPLIT_STREAM[split],
                                  _SET_STREAM[name]])


def _frozen(arrays):
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


@functools.lru_cache(maxsize=8)
def mog2d_sources(split, num_examples=DEFAULT_TRAIN_EXAMPLES,
                  num_test_examples=DEFAULT_TEST_EXAMPLES, data_seed=0, observation=True):
    """One split of MSNVI's 2-D mixture toy (section 5.1) as arrays.

    Each example draws a component k uniformly from 0..7 and a point from
    N(CIRCLE_MEANS[k], 0.1^2 I) (units of the unit circle's radius).

    Args:
        split: `"train"` (`num_examples` points) or `"test"` (`num_test_examples` points, drawn
            independently of the training points).
        num_examples, num_test_examples: ints >= 1.
        data_seed: int >= 0 fixing the points.
        observation: include the 2-D observation `x`.

    Returns:
        A dict of read-only arrays: `"x1"`, `"x2"`: float32 `(n, 1)`, the first and second
        coordinate; `"x"`: float32 `(n, 2)`, the point (when `observation`); `"label"`: int32
        `(n,)`, the component in 0..7.

    Raises:
        ValueError: unknown split, a count that is not an int >= 1, or a data_seed that is not an
            int >= 0.
    """
    n = _size(_check_split(split), num_examples, num_test_examples)
    rng = _rng("mog2d_sources", split, data_seed)
    label = rng.integers(0, CIRCLE_COMPONENTS, size=n)
    points = CIRCLE_MEANS[label] + CIRCLE_STD * rng.standard_normal((n, 2))
    points = points.astype(np.float32)
    arrays = {"x1": points[:, :1].copy(), "x2": points[:, 1:].copy()}
    if observation:
        arrays["x"] = points
    arrays["label"] = label.astype(np.int32)
    return _frozen(arrays)


def paper_test_points(rotation_degrees=TEST_ROTATION_DEGREES):
    """MSNVI section 5.1's test inputs: the 8 component means rotated by `rotation_degrees`
    (2 degrees in the paper, so that the two sources' beliefs about neighbouring means differ).

    Returns:
        float32 `(8, 2)`; row k is the mean of component k rotated counter-clockwise.
    """
    angle = math.radians(float(rotation_degrees))
    rotation = np.array([[math.cos(angle), -math.sin(angle)],
                         [math.sin(angle), math.cos(angle)]])
    return (CIRCLE_MEANS @ rotation.T).astype(np.float32)


@functools.lru_cache(maxsize=8)
def mog_bimodal(split, num_examples=DEFAULT_TRAIN_EXAMPLES,
                num_test_examples=DEFAULT_TEST_EXAMPLES, data_seed=0):
    """One split of M2VAE's bimodal ten-class mixture (section 4.2) as arrays.

    Each example draws a class c uniformly from 0..9, then `a` from N(A_MEANS[c], 0.05^2 I) and
    `b`, independently given c, from N(B_MEANS[c], 0.05^2 I).

    Args:
        split, num_examples, num_test_examples, data_seed: as `mog2d_sources`.

    Returns:
        A dict of read-only arrays: `"a"`, `"b"`: float32 `(n, 2)`; `"label"`: int32 `(n,)`,
        the class in 0..9.

    Raises:
        ValueError: as `mog2d_sources`.
    """
    n = _size(_check_split(split), num_examples, num_test_examples)
    rng = _rng("mog_bimodal", split, data_seed)
    label = rng.integers(0, NUM_CLASSES, size=n)
    a = A_MEANS[label] + BIMODAL_STD * rng.standard_normal((n, 2))
    b = B_MEANS[label] + BIMODAL_STD * rng.standard_normal((n, 2))
    return _frozen({"a": a.astype(np.float32), "b": b.astype(np.float32),
                    "label": label.astype(np.int32)})


def _check_observation(observation):
    if not isinstance(observation, bool):
        raise ValueError(f"observation must be True or False; received "
                         f"observation={observation!r}.")
    return observation


def _mog2d_spec(options):
    spec = {"x1": {"shape": (1,), "likelihood": "normal"},
            "x2": {"shape": (1,), "likelihood": "normal"}}
    if _check_observation(options["observation"]):
        spec["x"] = {"shape": (2,), "likelihood": "normal"}
    return spec


def _count(split, num_examples, num_test_examples):
    return _size(_check_split(split), num_examples, num_test_examples)


_COUNT_OPTIONS = {"num_examples": DEFAULT_TRAIN_EXAMPLES,
                  "num_test_examples": DEFAULT_TEST_EXAMPLES, "data_seed": 0}

registry.register(registry.Entry(
    name="mog2d_sources",
    description="2-D mixture of 8 Gaussians on the unit circle (std 0.1); sources x1, x2 each "
                "perceive one coordinate (1,), the observation x is the point (2,); label = "
                "component",
    paper="MSNVI (Kurle et al. 2019) section 5.1. Equal mixture weights and the train / test "
          "sizes are not in the paper (10,000 / 2,000 by default, `num_examples`, "
          "`num_test_examples`); the paper's 8 test inputs are `mog.paper_test_points()`. The "
          "paper's generative model is p(x1|z) p(x2|z); here the 2-D observation `x` is an "
          "always-present modality (`observation=False` drops it)",
    modalities=_mog2d_spec,
    arrays=lambda split, source, data_dir, observation, **options: mog2d_sources(
        split, observation=_check_observation(observation), **options),
    count=lambda split, source, data_dir, observation, **options: _count(split, **{
        key: options[key] for key in ("num_examples", "num_test_examples")}),
    options={**_COUNT_OPTIONS, "observation": True},
    always_present=("x",),
    size="10,000 / 2,000 (options)",
    source_text="generated (numpy, `data_seed`)",
    evaluation={"belief_points": paper_test_points}))

registry.register(registry.Entry(
    name="mog_bimodal",
    description="ten-class bimodal mixture of Gaussians: a (2,) on a grid with classes (5,6,7) "
                "and (0,8) sharing means, b (2,) on a circle with (0,9) sharing a mean; label = "
                "class",
    paper="M2VAE (Korthals et al. 2019) section 4.2. The paper gives the ambiguities but not "
          "the coordinates, stds or sizes: grid spacing 0.5, circle radius 0.75, std 0.05, "
          "uniform classes, 10,000 / 2,000 examples by default are this package's choice",
    modalities={"a": {"shape": (2,), "likelihood": "normal"},
                "b": {"shape": (2,), "likelihood": "normal"}},
    arrays=lambda split, source, data_dir, **options: mog_bimodal(split, **options),
    count=lambda split, source, data_dir, num_examples, num_test_examples, data_seed: _count(
        split, num_examples, num_test_examples),
    options=dict(_COUNT_OPTIONS),
    size="10,000 / 2,000 (options)",
    source_text="generated (numpy, `data_seed`)"))
