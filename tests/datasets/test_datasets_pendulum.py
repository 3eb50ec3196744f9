"""The pendulum of MSNVI section 5.3: camera geometry against an independent projection, noise,
the test sweep and its angles, the sensor failure, seeds, masks, and one epoch of training."""

import math

import keras
import numpy as np
import pytest

import kmvae
from kmvae import datasets
from kmvae.datasets import pendulum
from epochs import epoch

CAMERAS = ("camera_0", "camera_1", "camera_2")


def rotation(axis, degrees):
    """Rodrigues' formula: the rotation by `degrees` about the unit vector `axis`."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    t = math.radians(degrees)
    return np.eye(3) + math.sin(t) * k + (1 - math.cos(t)) * k @ k


def expected_pixels(angle, focal):
    """Where the bob of radius-1 circle at `angle` appears in each camera, (3, 2) (row, col),
    and its depth (3,): each camera at distance 2 from the origin looking at it, camera 0 on
    the z-axis, cameras 1 and 2 turned 45 degrees about x and y; image right / up are the
    turned x / y axes."""
    bob = np.array([math.cos(angle), math.sin(angle), 0.0])
    out, depths = [], []
    for turn in (np.eye(3), rotation([1, 0, 0], 45), rotation([0, 1, 0], 45)):
        centre = turn @ np.array([0, 0, 2.0])
        right, up, forward = turn[:, 0], turn[:, 1], -turn[:, 2]
        assert np.allclose(forward, -centre / np.linalg.norm(centre))  # looks at the origin
        ray = bob - centre
        depth = ray @ forward
        out.append([15.5 - focal * (ray @ up) / depth, 15.5 + focal * (ray @ right) / depth])
        depths.append(depth)
    return np.array(out), np.array(depths)


def moments(frame):
    """Intensity-weighted centroid (row, col) and variance along each axis of a (32, 32) frame."""
    frame = frame.astype(np.float64)
    grid = np.arange(32.0)
    total = frame.sum()
    row = (frame.sum(1) * grid).sum() / total
    col = (frame.sum(0) * grid).sum() / total
    var_row = (frame.sum(1) * (grid - row) ** 2).sum() / total
    var_col = (frame.sum(0) * (grid - col) ** 2).sum() / total
    return np.array([row, col]), np.array([var_row, var_col])


def test_noise_free_frames_centre_on_the_projected_bob():
    options = dict(noise_std=0.0, num_test_examples=90, test_rotations=1)
    data = epoch(datasets.load("pendulum", "test", batch_size=90, **options))
    angles = pendulum.angles("test", **options)
    assert set(data) == {*CAMERAS, "position"}
    for name in CAMERAS:
        assert data[name].shape == (90, 1024) and data[name].dtype == np.float32
    for i, angle in enumerate(angles):
        pixels, depths = expected_pixels(angle, pendulum.FOCAL_PIXELS)
        for k, name in enumerate(CAMERAS):
            frame = data[name][i].reshape(32, 32)
            centroid, variance = moments(frame)
            np.testing.assert_allclose(centroid, pixels[k], atol=0.01)
            # a blob of the projected radius: std = focal * bob radius / depth
            sigma = pendulum.FOCAL_PIXELS * pendulum.BOB_RADIUS / depths[k]
            np.testing.assert_allclose(np.sqrt(variance), sigma, rtol=0.02)
            # the whole frame: a peak-1 Gaussian of that std about the projection
            rows, cols = np.mgrid[0:32, 0:32]
            blob = np.exp(-((rows - pixels[k][0]) ** 2 + (cols - pixels[k][1]) ** 2)
                          / (2 * sigma ** 2))
            np.testing.assert_allclose(frame, blob, atol=1e-5)
            assert frame[[0, -1], :].max() < 1e-3 and frame[:, [0, -1]].max() < 1e-3
    # closed form for camera 0: a circle of radius focal / 2 pixels about the image centre
    centroids = np.array([moments(f.reshape(32, 32))[0] for f in data["camera_0"]])
    np.testing.assert_allclose(centroids[:, 1] - 15.5,
                               pendulum.FOCAL_PIXELS / 2 * np.cos(angles), atol=0.01)
    np.testing.assert_allclose(15.5 - centroids[:, 0],
                               pendulum.FOCAL_PIXELS / 2 * np.sin(angles), atol=0.01)
    # the views differ: cameras 1 and 2 see the circle foreshortened along y and x
    assert np.ptp(centroids[:, 0]) > 1.2 * np.ptp(
        [moments(f.reshape(32, 32))[0][0] for f in data["camera_1"]])
    np.testing.assert_allclose(data["position"],
                               np.stack([np.cos(angles), np.sin(angles)], 1), atol=1e-6)


def test_noise_is_independent_gaussian_with_std_0_1():
    options = dict(num_test_examples=200)
    noisy = pendulum.arrays("test", **options)
    clean = pendulum.arrays("test", noise_std=0.0, **options)
    residuals = np.stack([noisy[k] - clean[k] for k in CAMERAS]).astype(np.float64)
    assert abs(residuals.mean()) < 4 * 0.1 / math.sqrt(residuals.size)
    assert abs(residuals.std() - 0.1) < 4 * 0.1 / math.sqrt(2 * residuals.size)
    flat = residuals.reshape(3, -1)
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert abs(np.corrcoef(flat[i], flat[j])[0, 1]) < 4 / math.sqrt(flat.shape[1])
    np.testing.assert_array_equal(noisy["position"], clean["position"])  # noise-free target


def test_test_split_sweeps_three_rotations_in_order_and_train_angles_are_uniform():
    test = pendulum.angles("test")
    assert test.shape == (600,) and np.all(np.diff(test) > 0)
    np.testing.assert_allclose(test, 6 * np.pi * np.arange(600) / 600)
    train = pendulum.angles("train", num_examples=4000)
    assert train.min() >= 0 and train.max() < 2 * np.pi
    counts = np.histogram(train, bins=8, range=(0, 2 * np.pi))[0]
    assert np.all(np.abs(counts - 500) < 4.5 * math.sqrt(4000 * 1 / 8 * 7 / 8))
    # the angles are in data order: the positions of the unshuffled split match them
    data = epoch(datasets.load("pendulum", "train", batch_size=1000, shuffle=False,
                               num_examples=4000))
    np.testing.assert_allclose(data["position"], np.stack([np.cos(train), np.sin(train)], 1),
                               atol=1e-6)
    assert datasets.num_examples("pendulum", "train", num_examples=4000) == 4000
    assert datasets.num_examples("pendulum", "test") == 600


@pytest.mark.parametrize("failure_angle", [4 * np.pi, 1.0])
def test_failure_replaces_camera_0_only_after_the_angle(failure_angle):
    options = dict(num_test_examples=300)
    normal = epoch(datasets.load("pendulum", "test", batch_size=100, **options))
    failed = epoch(datasets.load("pendulum", "test", batch_size=100, failure_angle=failure_angle,
                                 **options))
    angles = pendulum.angles("test", **options)
    after = angles > failure_angle
    assert 0 < after.sum() < len(angles)
    for key in ("camera_1", "camera_2", "position"):
        np.testing.assert_array_equal(failed[key], normal[key])
    np.testing.assert_array_equal(failed["camera_0"][~after], normal["camera_0"][~after])
    broken = failed["camera_0"][after].astype(np.float64)
    # noise only: zero mean, std 0.1, no blob (the largest value is a noise extreme, not ~1)
    assert abs(broken.mean()) < 4 * 0.1 / math.sqrt(broken.size)
    assert abs(broken.std() - 0.1) < 0.005
    clean = pendulum.render(angles[after])[:, 0].reshape(after.sum(), -1)
    np.testing.assert_allclose(normal["camera_0"][after] - broken, clean, atol=1e-6)
    # the training split never fails
    train = dict(num_examples=100)
    np.testing.assert_array_equal(
        pendulum.arrays("train", failure_angle=0.0, **train)["camera_0"],
        pendulum.arrays("train", **train)["camera_0"])


def test_data_seed_fixes_the_data():
    options = dict(num_examples=50, num_test_examples=20)
    first, again = pendulum.arrays("train", **options), pendulum.arrays("train", **options)
    other = pendulum.arrays("train", data_seed=1, **options)
    fresh = pendulum._arrays.__wrapped__("train", 50, 20, 3.0, None, 0.1, 0)  # uncached build
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
        np.testing.assert_array_equal(first[key], fresh[key])
        assert not np.array_equal(first[key], other[key])
    assert not np.array_equal(pendulum.angles("train", **options),
                              pendulum.angles("train", data_seed=1, **options))
    # the test sweep's angles are fixed, its noise follows data_seed
    test, test_other = (pendulum.arrays("test", data_seed=s, **options) for s in (0, 1))
    np.testing.assert_array_equal(test["position"], test_other["position"])
    assert not np.array_equal(test["camera_1"], test_other["camera_1"])
    assert not first["camera_0"].flags.writeable


@pytest.mark.parametrize("kwargs", [dict(supervision=0.25), dict(keep_probability=0.3)])
def test_masks_keep_the_position_and_at_least_one_camera(kwargs):
    mask = epoch(datasets.load("pendulum", "train", batch_size=400, num_examples=400,
                               **kwargs))["mask"]
    assert mask.shape == (400, 4)
    assert datasets.modality_names("pendulum") == (*CAMERAS, "position")
    assert mask[:, 3].all()
    assert mask[:, :3].any(axis=1).all()
    assert not mask[:, :3].all(axis=1).all()
    if "supervision" in kwargs:
        assert mask[:, :3].all(axis=1).sum() == 100


@pytest.mark.parametrize("kwargs, words", [
    (dict(failure_angle=-1.0), ["failure_angle=-1.0", ">= 0"]),
    (dict(failure_angle="late"), ["failure_angle='late'"]),
    (dict(noise_std=float("nan")), ["noise_std=nan"]),
    (dict(test_rotations=0), ["test_rotations=0", "> 0"]),
    (dict(num_examples=-5), ["num_examples=-5"]),
    (dict(data_seed=1.5), ["data_seed=1.5"]),
    (dict(cameras=4), ["'pendulum'", "cameras", "failure_angle"]),
])
def test_bad_options_name_the_value_received(kwargs, words):
    with pytest.raises(ValueError) as error:
        datasets.load("pendulum", **kwargs)
    for word in words:
        assert word in str(error.value)
    if "cameras" not in kwargs:
        with pytest.raises(ValueError):
            pendulum.angles("test", **kwargs)


def test_one_epoch_of_mvae_training():
    keras.utils.set_random_seed(0)
    options = dict(num_examples=128, num_test_examples=32, failure_angle=4 * np.pi)
    modalities = [kmvae.Modality(
        name, **spec, encoder=keras.Sequential([keras.layers.Dense(16, activation="tanh")]),
        decoder=keras.Sequential([keras.layers.Dense(16, activation="tanh")]))
        for name, spec in datasets.spec("pendulum", **options).items()]
    model = kmvae.MVAE(modalities, latent_dim=2, seed=0)
    model.compile(keras.optimizers.Adam(1e-3), jit_compile=False)  # XLA compiles too slowly here
    train, test = datasets.load("pendulum", batch_size=64, keep_probability=0.7, **options)
    history = model.fit(train, epochs=1, validation_data=test, verbose=0).history
    assert np.isfinite(history["loss"][0]) and np.isfinite(history["val_loss"][0])
