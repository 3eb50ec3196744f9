"""scikit-learn's bundled handwritten digits (UCI optical digits, 8x8, no download)."""

import functools

import numpy as np

TEST_SIZE = 0.2
SPLIT_SEED = 0
SIZES = {"train": 1437, "test": 360}  # of 1,797; stratified by digit


@functools.lru_cache(maxsize=None)
def load_split(split):
    """One split of `sklearn.datasets.load_digits`, as arrays.

    The 1,797 digits are split once, stratified by label, with
    `train_test_split(test_size=0.2, stratify=y, random_state=0)`: 1,437 train, 360 test.

    Args:
        split: `"train"` or `"test"`.

    Returns:
        `(images, labels)`: read-only float32 `(n, 64)` (pixel counts 0..16 divided by 16, so
        in [0, 1]) and int32 `(n,)` in 0..9.

    Raises:
        ValueError: unknown `split`.
    """
    if split not in SIZES:
        raise ValueError(f"digits has splits {tuple(SIZES)}; received split={split!r}.")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    parts = train_test_split(x, y, test_size=TEST_SIZE, stratify=y, random_state=SPLIT_SEED)
    images, labels = (parts[0], parts[2]) if split == "train" else (parts[1], parts[3])
    images = (images / 16.0).astype(np.float32)
    labels = labels.astype(np.int32)
    for array in (images, labels):
        array.flags.writeable = False
    return images, labels
