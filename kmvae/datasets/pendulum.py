"""A pendulum seen by three perspective cameras: MSNVI (Kurle, Guennemann & van der Smagt, AAAI
2019) section 5.3, "Robustness via conflict detection and redundancy".

The scene, in units of the pendulum's radius r = 1: the bob rotates in the plane z = 0 about the
z-axis through the origin, at `(cos angle, sin angle, 0)`. Three pinhole cameras of 32 x 32
pixels look at the origin from distance 2 r (twice the radius, as the paper): camera 0 from
`(0, 0, 2)` on the z-axis, camera 1 rotated by 45 degrees about the x-axis, camera 2 rotated by
45 degrees about the y-axis. A camera's rotation R (world from camera: R_x(45 deg), R_y(45 deg)
or the identity) places it at `R (0, 0, 2)`, looking along `-R e_z`, its image right along
`R e_x` and image up along `R e_y`. A point P has camera coordinates `p = R^T P - (0, 0, 2)`,
depth `-p_z`, and lands on pixel `(row, col) = (15.5 - f p_y / depth, 15.5 + f p_x / depth)`
with the focal length f = `FOCAL_PIXELS` (row 0 at the top; pixel centres at integers). The bob,
a ball of radius `BOB_RADIUS` r, is drawn as a Gaussian blob of peak 1 and standard deviation
its projected radius `f BOB_RADIUS / depth` (0.7-1.4 pixels), which keeps the blob inside every
frame. Independent N(0, 0.1^2) noise is added to every pixel of every camera (the paper's "noise
with std 0.1 to all sources"); values are float32 and not clipped.

The paper does not give the bob size, the focal length, how training angles are drawn or the
data set sizes; this module draws training angles uniformly in [0, 2 pi) (the paper's model is
static) and makes the test split the paper's Fig. 5 sweep: angles evenly spaced over
`test_rotations` (3) full turns, in order. With `failure_angle` set, camera 0 of the test split
outputs noise only (no bob) for every frame whose (unwrapped) angle exceeds it; the paper's
failure comes after 2 rotations, `failure_angle=4 * pi`. The training split is never affected.

Models see the cameras as sources and the bob's (x, y) position (noise-free) as the always-present
observation; the angle of each example is `angles(split, **options)`.
"""

import functools
import math
import numbers

import numpy as np

from kmvae.datasets import registry
from kmvae.datasets.mog import check_count, check_data_seed

IMAGE_SHAPE = (32, 32, 1)  # (H, W, C) of each camera; flattened to (1024,) in batches
NUM_CAMERAS = 3
CAMERA_NAMES = tuple(f"camera_{k}" for k in range(NUM_CAMERAS))
RADIUS = 1.0  # of the bob's circle: the unit of length
CAMERA_DISTANCE = 2.0 * RADIUS
CAMERA_TILT = math.pi / 4  # cameras 1 and 2: 45 degrees about x and about y
FOCAL_PIXELS = 18.0  # the farthest projection lands 9.8 pixels from the image centre
BOB_RADIUS = 0.1 * RADIUS
NOISE_STD = 0.1
DEFAULT_TRAIN_EXAMPLES = 10_000
DEFAULT_TEST_EXAMPLES = 600  # 200 frames per rotation
DEFAULT_TEST_ROTATIONS = 3
_SPLIT_STREAM = {"train": 0, "test": 1}
_SET_STREAM = 2  # mog.py uses 0 and 1


def camera_rotations():
    """The cameras' world-from-camera rotation matrices: float64 `(3, 3, 3)`, the identity,
    R_x(45 deg) and R_y(45 deg). Camera k sits at `rotations[k] @ (0, 0, 2)`."""
    c, s = math.cos(CAMERA_TILT), math.sin(CAMERA_TILT)
    about_x = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    about_y = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.stack([np.eye(3), about_x, about_y])


def bob_positions(angle):
    """The bob's centre for `angle` (radians, any shape `s`): float64 `s + (3,)`,
    `(cos, sin, 0)` in units of the radius."""
    angle = np.asarray(angle, dtype=np.float64)
    return RADIUS * np.stack([np.cos(angle), np.sin(angle), np.zeros_like(angle)], axis=-1)


def project(points):
    """Pinhole projection of world points into the three cameras.

    Args:
        points: float `(n, 3)` in units of the radius.

    Returns:
        `(pixels, depth)`: float64 `(n, 3, 2)` (row, col) positions (pixel centres at integers,
        row 0 at the top) and float64 `(n, 3)` depths along each camera's viewing axis.
    """
    points = np.asarray(points, dtype=np.float64)
    camera = np.einsum("kji,nj->nki", camera_rotations(), points)  # R_k^T P
    camera[..., 2] -= CAMERA_DISTANCE
    depth = -camera[..., 2]
    centre = (IMAGE_SHAPE[0] - 1) / 2
    rows = centre - FOCAL_PIXELS * camera[..., 1] / depth
    cols = centre + FOCAL_PIXELS * camera[..., 0] / depth
    return np.stack([rows, cols], axis=-1), depth


def render(angle):
    """Noise-free frames of the three cameras.

    Args:
        angle: float `(n,)`, radians.

    Returns:
        float32 `(n, 3, 32, 32)`: per camera, a Gaussian blob of peak 1 centred on the
        projected bob with standard deviation its projected radius `FOCAL_PIXELS * BOB_RADIUS /
        depth` pixels, on a zero background.
    """
    pixels, depth = project(bob_positions(np.asarray(angle, dtype=np.float64).reshape(-1)))
    sigma = FOCAL_PIXELS * BOB_RADIUS / depth  # (n, 3)
    grid = np.arange(IMAGE_SHAPE[0], dtype=np.float64)
    # the blob is separable: exp(-(dr^2 + dc^2) / 2 s^2) = exp(-dr^2 / 2 s^2) exp(-dc^2 / 2 s^2)
    rows = np.exp(-(grid - pixels[..., 0, None]) ** 2 / (2 * sigma[..., None] ** 2))
    cols = np.exp(-(grid - pixels[..., 1, None]) ** 2 / (2 * sigma[..., None] ** 2))
    return rows.astype(np.float32)[..., :, None] * cols.astype(np.float32)[..., None, :]


def _check_split(split):
    if split not in _SPLIT_STREAM:
        raise ValueError(f"split must be one of {tuple(_SPLIT_STREAM)}; received "
                         f"split={split!r}.")
    return split


def _check_real(key, value, low, *, allow_none=False, strict=False):
    if value is None and allow_none:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value < low or (strict and value == low)):
        bound = f"> {low}" if strict else f">= {low}"
        extra = " or None" if allow_none else ""
        raise ValueError(f"{key} must be a finite number {bound}{extra}; received "
                         f"{key}={value!r}.")
    return float(value)


def _check(split, num_examples, num_test_examples, test_rotations, failure_angle, noise_std,
           data_seed):
    return dict(split=_check_split(split),
                num_examples=check_count("num_examples", num_examples),
                num_test_examples=check_count("num_test_examples", num_test_examples),
                test_rotations=_check_real("test_rotations", test_rotations, 0, strict=True),
                failure_angle=_check_real("failure_angle", failure_angle, 0, allow_none=True),
                noise_std=_check_real("noise_std", noise_std, 0),
                data_seed=check_data_seed(data_seed))


def angles(split, num_examples=DEFAULT_TRAIN_EXAMPLES, num_test_examples=DEFAULT_TEST_EXAMPLES,
           test_rotations=DEFAULT_TEST_ROTATIONS, failure_angle=None, noise_std=NOISE_STD,
           data_seed=0):
    """The pendulum angle of every example of a split, in the order of the unshuffled split
    (`load(..., shuffle=False)`; the test split is never shuffled).

    Args:
        split: `"train"` or `"test"`; the other arguments: the data set's options (see
            `arrays`; only the sizes, `test_rotations` and `data_seed` matter).

    Returns:
        A read-only float64 `(n,)` array in radians: training angles uniform in [0, 2 pi);
        test angles `2 pi test_rotations i / n`, i = 0..n-1, increasing (unwrapped, so up to
        `2 pi test_rotations`).

    Raises:
        ValueError: as `arrays`.
    """
    options = _check(split, num_examples, num_test_examples, test_rotations, failure_angle,
                     noise_std, data_seed)
    return _angles(options["split"], options["num_examples"], options["num_test_examples"],
                   options["test_rotations"], options["data_seed"])


@functools.lru_cache(maxsize=8)
def _angles(split, num_examples, num_test_examples, test_rotations, data_seed):
    if split == "train":
        values = _rng(split, data_seed, 0).uniform(0.0, 2 * np.pi, num_examples)
    else:
        values = 2 * np.pi * test_rotations * np.arange(num_test_examples) / num_test_examples
    values.flags.writeable = False
    return values


def _rng(split, data_seed, stream):
    return np.random.default_rng([data_seed, _SPLIT_STREAM[split], _SET_STREAM, stream])


def arrays(split, num_examples=DEFAULT_TRAIN_EXAMPLES, num_test_examples=DEFAULT_TEST_EXAMPLES,
           test_rotations=DEFAULT_TEST_ROTATIONS, failure_angle=None, noise_std=NOISE_STD,
           data_seed=0):
    """One split of the pendulum data set as arrays.

    Args:
        split: `"train"` or `"test"`.
        num_examples: training frames, an int >= 1 (default 10,000).
        num_test_examples: test frames, an int >= 1 (default 600).
        test_rotations: full turns the test sweep covers, a number > 0 (default 3, as the
            paper's Fig. 5).
        failure_angle: None, or an angle in radians >= 0: on the test split, camera 0 shows
            noise only for every frame whose angle (see `angles`) is greater (the paper:
            `4 * pi`, after two rotations). The other cameras and all frames up to the angle are
            bit-for-bit those without failure.
        noise_std: standard deviation of the pixel noise, a number >= 0 (default 0.1, the
            paper's; 0 gives the clean `render` frames).
        data_seed: int >= 0 fixing the training angles and the noise.

    Returns:
        A dict of read-only arrays: `"camera_0"`, `"camera_1"`, `"camera_2"`: float32
        `(n, 1024)`, the 32 x 32 x 1 frames flattened row by row (intensities: blob peak 1 plus
        noise, unclipped); `"position"`: float32 `(n, 2)`, the bob's (x, y) in units of the
        radius, noise-free.

    Raises:
        ValueError: unknown split, or an option outside the ranges above (the message names the
            value received).
    """
    options = _check(split, num_examples, num_test_examples, test_rotations, failure_angle,
                     noise_std, data_seed)
    return _arrays(**options)


@functools.lru_cache(maxsize=4)
def _arrays(split, num_examples, num_test_examples, test_rotations, failure_angle, noise_std,
            data_seed):
    angle = _angles(split, num_examples, num_test_examples, test_rotations, data_seed)
    frames = render(angle).reshape(len(angle), NUM_CAMERAS, -1)
    noise = _rng(split, data_seed, 1).standard_normal(frames.shape, dtype=np.float32)
    if split == "test" and failure_angle is not None:
        frames[angle > failure_angle, 0] = 0.0  # the bob vanishes; the noise stays
    frames += np.float32(noise_std) * noise
    result = {name: np.ascontiguousarray(frames[:, k]) for k, name in enumerate(CAMERA_NAMES)}
    result["position"] = bob_positions(angle)[:, :2].astype(np.float32)
    for array in result.values():
        array.flags.writeable = False
    return result


def num_examples(split, num_examples=DEFAULT_TRAIN_EXAMPLES,
                 num_test_examples=DEFAULT_TEST_EXAMPLES, test_rotations=DEFAULT_TEST_ROTATIONS,
                 failure_angle=None, noise_std=NOISE_STD, data_seed=0):
    """The size of a split (without building it). Raises: as `arrays`."""
    options = _check(split, num_examples, num_test_examples, test_rotations, failure_angle,
                     noise_std, data_seed)
    return options["num_examples"] if split == "train" else options["num_test_examples"]


_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1] * IMAGE_SHAPE[2]

registry.register(registry.Entry(
    name="pendulum",
    description="a pendulum rotating about the z-axis seen by three 32x32x1 perspective cameras "
                "camera_0..camera_2 (1024,) with N(0, 0.1^2) pixel noise; observation: the bob's "
                "(x, y) position (2,)",
    paper="MSNVI (Kurle et al. 2019) section 5.3. Bob size (radius 0.1 r, a Gaussian blob), "
          "focal length (18 pixels), uniform training angles and the sizes (10,000 train; test: "
          "600 frames sweeping 3 rotations in order) are not in the paper; `failure_angle` "
          "(4 pi in the paper) replaces camera 0 of the test split by noise; the angles are "
          "`pendulum.angles(split, **options)`",
    modalities={**{name: {"shape": (_PIXELS,), "likelihood": "normal"} for name in CAMERA_NAMES},
                "position": {"shape": (2,), "likelihood": "normal"}},
    arrays=lambda split, source, data_dir, **options: arrays(split, **options),
    count=lambda split, source, data_dir, **options: num_examples(split, **options),
    options={"num_examples": DEFAULT_TRAIN_EXAMPLES, "num_test_examples": DEFAULT_TEST_EXAMPLES,
             "test_rotations": DEFAULT_TEST_ROTATIONS, "failure_angle": None,
             "noise_std": NOISE_STD, "data_seed": 0},
    always_present=("position",),
    size="10,000 / 600 (options)",
    source_text="generated (numpy, `data_seed`)",
    evaluation={"sweep_angles": angles}))
