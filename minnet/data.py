"""Data: small datasets, train/val/test splits and distribution shifts.

Loaders return a :class:`Dataset` whose X arrays are standardised with ONE
scalar mean and std taken from the training split. A global scalar (not one
per pixel) keeps the background a single constant value, the minimum of
every image, which the shifts below use as their fill value.

Images are NCHW: (batch, channels, height, width). Flat arrays are
(batch, channels * height * width). Randomness always comes from an explicit
``rng`` (an int seed, a ``numpy.random.Generator``, or None for seed 0); the
global NumPy random state is never touched.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .utils import as_generator
from .validate import check_array, check_bool, check_choice, check_float_dtype, check_int, check_path, check_real

# Module-level so tests can monkeypatch it and never touch the network; None means
# scikit-learn's fetch_openml (imported when needed: scikit-learn is slow to import).
_fetch_openml = None

# One row per shift kind, one value per severity 1..5.
SEVERITY_TABLE = {
    "noise": (0.2, 0.4, 0.6, 0.8, 1.0),  # Gaussian std, standardised units
    "rotation": (10.0, 20.0, 30.0, 45.0, 60.0),  # max angle, degrees
    "translation": (0.1, 0.15, 0.2, 0.25, 0.35),  # distance, fraction of image side
    "contrast": (0.8, 0.6, 0.45, 0.3, 0.2),  # factor towards the per-image mean
    "blur": (0.4, 0.6, 0.8, 1.0, 1.3),  # Gaussian sigma, pixels
    "occlusion": (0.2, 0.3, 0.4, 0.5, 0.6),  # patch side, fraction of image side
}
SHIFTS = tuple(SEVERITY_TABLE)
MNIST_SIZE = 70_000


# ---------------------------------------------------------------- helpers


def _seed(gen: np.random.Generator) -> int:
    """Draw an int seed for scikit-learn's ``random_state`` from ``gen``."""
    return int(gen.integers(2**31))


def _check_fractions(val_fraction, test_fraction) -> tuple[float, float]:
    """Both fractions must be in (0, 1), with a sum below 1 to leave a train split."""
    val_fraction, test_fraction = (
        check_real(name, value, low=0, high=1, low_inclusive=False, high_inclusive=False)
        for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction))
    )
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}")
    return val_fraction, test_fraction


# ---------------------------------------------------------------- Dataset


@dataclass(frozen=True, eq=False)
class Dataset:
    """Three standardised splits of one dataset.

    X arrays are float, (N, D) flat or (N, *image_shape); y arrays are int64
    labels in 0..n_classes-1. ``mean`` and ``std`` are the scalars used to
    standardise, in raw units (pixels scaled to [0, 1]): x_std = (x - mean) / std.
    ``image_shape`` is (C, H, W) for images, None for other data.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    mean: float
    std: float
    image_shape: tuple | None
    name: str

    @property
    def n_classes(self) -> int:
        """Number of classes (labels are 0..n_classes-1)."""
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max())) + 1

    @property
    def n_features(self) -> int:
        """Numbers per example when flat, e.g. 64 for 8x8 digits."""
        return math.prod(self.X_train.shape[1:])

    def _reshaped(self, shape: tuple) -> Dataset:
        return dataclasses.replace(
            self,
            X_train=self.X_train.reshape(-1, *shape),
            X_val=self.X_val.reshape(-1, *shape),
            X_test=self.X_test.reshape(-1, *shape),
        )

    def as_images(self) -> Dataset:
        """Same data with X arrays shaped (N, C, H, W)."""
        if self.image_shape is None:
            raise ValueError(f"dataset {self.name!r} has image_shape None, so it cannot be shown as images")
        return self._reshaped(tuple(self.image_shape))

    def as_flat(self) -> Dataset:
        """Same data with X arrays shaped (N, D)."""
        return self._reshaped((self.n_features,))

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}: train {len(self.X_train)}, val {len(self.X_val)}, "
            f"test {len(self.X_test)}; example shape {self.X_train.shape[1:]}, "
            f"{self.n_classes} classes)"
        )


def split(
    X,
    y,
    *,
    val_fraction: float,
    test_fraction: float,
    rng,
    name: str = "custom",
    image_shape: tuple | None = None,
    dtype=np.float32,
) -> Dataset:
    """Stratified train/val/test split, then scalar standardisation from the train split.

    X: (N, ...) raw values (for images, pixels in [0, 1]); y: (N,) int labels.
    The fractions are of all N examples; the train split gets the rest.
    The returned X arrays are flat (N, D) of ``dtype``; call ``.as_images()``
    for (N, C, H, W). ``image_shape`` defaults to X.shape[1:] when X is not flat.
    """
    val_fraction, test_fraction = _check_fractions(val_fraction, test_fraction)
    dtype = check_float_dtype("dtype", dtype)
    X = check_array("X", X, min_ndim=2)
    y = check_array("y", y, ndim=1)
    if y.shape != (len(X),):
        raise ValueError(f"X must be (N, ...) and y (N,), got shapes {X.shape} and {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y must hold integer labels, got dtype {y.dtype}")
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if image_shape is None and X.ndim > 2:
        image_shape = X.shape[1:]
    X = X.reshape(len(X), -1)
    if image_shape is not None:
        if not isinstance(image_shape, (tuple, list)):
            raise TypeError(f"image_shape must be a tuple such as (1, 8, 8), got {image_shape!r}")
        image_shape = tuple(check_int("image_shape[i]", s, low=1) for s in image_shape)
        if math.prod(image_shape) != X.shape[1]:
            raise ValueError(f"image_shape must have {X.shape[1]} elements, got {image_shape}")
    _, counts = np.unique(y, return_counts=True)
    if counts.min() < 3:
        raise ValueError(f"every class needs at least 3 examples for a stratified 3-way split, got {counts.min()}")

    seed = _seed(as_generator(rng))
    from sklearn.model_selection import train_test_split

    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=test_fraction, stratify=y, random_state=seed)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=val_fraction / (1 - test_fraction), stratify=y_rest, random_state=seed
    )
    mean = float(X_train.mean(dtype=np.float64))
    std = float(X_train.std(dtype=np.float64))

    def standardise(A):
        return ((A - mean) / std).astype(dtype)

    return Dataset(
        X_train=standardise(X_train),
        y_train=y_train.astype(np.int64),
        X_val=standardise(X_val),
        y_val=y_val.astype(np.int64),
        X_test=standardise(X_test),
        y_test=y_test.astype(np.int64),
        mean=mean,
        std=std,
        image_shape=None if image_shape is None else tuple(int(s) for s in image_shape),
        name=name,
    )


# ---------------------------------------------------------------- loaders


def load_digits(*, as_images=False, val_fraction=0.15, test_fraction=0.2, rng=0, dtype=np.float32) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 images, 10 classes), offline.

    Pixels 0..16 are scaled to [0, 1], split with :func:`split` and
    standardised. X is (N, 64), or (N, 1, 8, 8) with ``as_images=True``.
    """
    as_images = check_bool("as_images", as_images)
    from sklearn.datasets import load_digits as sklearn_digits

    X, y = sklearn_digits(return_X_y=True)
    data = split(
        X / 16.0,
        y,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        rng=rng,
        name="digits",
        image_shape=(1, 8, 8),
        dtype=dtype,
    )
    return data.as_images() if as_images else data


class DatasetUnavailableError(FileNotFoundError, RuntimeError):
    """A dataset is neither in the local cache nor downloadable now (offline?)."""


def _fetch_mnist(data_home):
    """Fetch MNIST through scikit-learn's OpenML cache; DatasetUnavailableError if that fails."""
    try:
        fetch = _fetch_openml
        if fetch is None:
            from sklearn.datasets import fetch_openml as fetch
        return fetch("mnist_784", version=1, as_frame=False, data_home=data_home, cache=True)
    except Exception as exc:
        where = data_home if data_home is not None else "~/scikit_learn_data"
        raise DatasetUnavailableError(
            f"MNIST could not be downloaded from OpenML ({type(exc).__name__}: {exc}). "
            f"This machine may be offline: the first call to load_mnist() needs network "
            f"access, after which MNIST is cached in data_home ({where}). "
            f"minnet.data.load_digits() works offline."
        ) from exc


def load_mnist(
    *,
    as_images=False,
    n_train=None,
    val_fraction=0.15,
    test_fraction=0.2,
    rng=0,
    dtype=np.float32,
    data_home=None,
) -> Dataset:
    """MNIST (70000 28x28 images, 10 classes) from OpenML, cached in ``data_home``.

    The first call needs network access; later calls read the cache
    (``~/scikit_learn_data`` by default). Pixels 0..255 are scaled to [0, 1].
    ``n_train``: if given, a stratified subsample is taken first, sized so the
    train split holds about ``n_train`` examples (val and test keep their
    fractions). X is (N, 784), or (N, 1, 28, 28) with ``as_images=True``.
    Raises ``DatasetUnavailableError`` (a FileNotFoundError, and a RuntimeError
    as before) if MNIST is not cached and cannot be fetched.
    """
    val_fraction, test_fraction = _check_fractions(val_fraction, test_fraction)
    dtype = check_float_dtype("dtype", dtype)
    as_images = check_bool("as_images", as_images)
    gen = as_generator(rng)
    if data_home is not None:
        data_home = check_path("data_home", data_home)
    train_share = 1 - val_fraction - test_fraction
    if n_train is not None:  # checked before any download: MNIST has 70,000 examples
        n_train = check_int("n_train", n_train, low=1, high=int(MNIST_SIZE * train_share) - 1)
    bunch = _fetch_mnist(data_home)
    X = np.asarray(bunch.data, dtype=dtype) / 255
    y = np.asarray(bunch.target).astype(np.int64)  # OpenML labels are the strings '0'..'9'
    if n_train is not None:
        check_int("n_train", n_train, low=1, high=int(len(y) * train_share) - 1)  # a cache may hold fewer
        n_total = round(n_train / train_share)
        from sklearn.model_selection import train_test_split

        X, _, y, _ = train_test_split(X, y, train_size=n_total, stratify=y, random_state=_seed(gen))
    data = split(
        X,
        y,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        rng=gen,
        name="mnist",
        image_shape=(1, 28, 28),
        dtype=dtype,
    )
    return data.as_images() if as_images else data


def make_spirals(n_per_class=100, n_classes=3, *, noise=0.2, rng=0, dtype=np.float32):
    """The CS231n spirals: ``n_classes`` arms of ``n_per_class`` points each.

    Arm k has radius r from 0 to 1 and angle 4k + 4r plus Gaussian noise of
    std ``noise`` (radians). Returns X (n_per_class * n_classes, 2) and y int64.
    """
    n_per_class = check_int("n_per_class", n_per_class, low=1)
    n_classes = check_int("n_classes", n_classes, low=1)
    noise = check_real("noise", noise, low=0)
    dtype = check_float_dtype("dtype", dtype)
    radius = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)
    y = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    angle = 4 * (y + radius) + noise * as_generator(rng).standard_normal(len(y))
    X = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return X.astype(dtype), y


def make_moons(n=200, *, noise=0.1, rng=0, dtype=np.float32):
    """scikit-learn's two interleaving half circles. Returns X (n, 2) and y int64 in {0, 1}."""
    n = check_int("n", n, low=2)
    noise = check_real("noise", noise, low=0)
    dtype = check_float_dtype("dtype", dtype)
    gen = as_generator(rng)
    from sklearn.datasets import make_moons as sklearn_moons

    X, y = sklearn_moons(n_samples=n, noise=noise, random_state=_seed(gen))
    return X.astype(dtype), y.astype(np.int64)


# ---------------------------------------------------------------- shifts
#
# Every shift takes standardised images X, flat (N, D) with D a perfect square
# (one channel) or (N, C, H, W), and an int severity 1..5 looked up in
# SEVERITY_TABLE. It returns a new array of X's shape and dtype.


def _level(kind: str, severity) -> float:
    """The SEVERITY_TABLE value of ``kind`` at ``severity`` (an int 1..5)."""
    return SEVERITY_TABLE[kind][check_int("severity", severity, low=1, high=5) - 1]


def _as_images(X) -> np.ndarray:
    """View X as (N, C, H, W); a flat (N, D) X becomes (N, 1, sqrt(D), sqrt(D))."""
    X = check_array("X", X)
    if not np.issubdtype(X.dtype, np.floating):
        raise TypeError(f"X must be a floating-point array, got dtype {X.dtype}")
    if X.ndim == 4:
        return X
    side = math.isqrt(X.shape[1]) if X.ndim == 2 else 0
    if side == 0 or side * side != X.shape[1]:
        raise ValueError(f"X must be (N, D) with D a perfect square, or (N, C, H, W); got shape {X.shape}")
    return X.reshape(len(X), 1, side, side)


def _like(X, images: np.ndarray) -> np.ndarray:
    """``images`` with the shape and dtype of the original input X."""
    X = np.asarray(X)
    return images.reshape(X.shape).astype(X.dtype, copy=False)


def _background(images: np.ndarray) -> np.ndarray:
    """Per-image minimum, (N, 1, 1, 1): where raw pixel 0 lands after standardising."""
    return images.min(axis=(1, 2, 3), keepdims=True)


def _warp(images: np.ndarray, matrix: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Resample every image n at  matrix[n] @ (p - centre) + centre - offset[n]  for each pixel p.

    images (N, C, H, W); matrix (N, 2, 2) and offset (N, 2) act on (row, col)
    pixel coordinates; centre is the image centre. So matrix = inverse
    rotation rotates about the centre and matrix = I moves content by offset.
    Bilinear; whatever comes from outside the image is that image's background.
    """
    n, c, h, w = images.shape
    centre = np.array([(h - 1) / 2, (w - 1) / 2])
    grid = np.stack(np.meshgrid(np.arange(h), np.arange(w), indexing="ij")) - centre[:, None, None]
    source = np.einsum("nij,jhw->inhw", matrix, grid) + (centre - offset).T[:, :, None, None]
    coords = np.empty((3, n, c, h, w))
    coords[0] = np.arange(n * c).reshape(n, c, 1, 1)  # which image of the (N * C, H, W) stack
    coords[1:] = source[:, :, None]  # the same (row, col) for every channel
    background = _background(images)
    stack = (images - background).reshape(n * c, h, w)
    from scipy.ndimage import map_coordinates  # imported here: scipy is slow to import

    moved = map_coordinates(stack, coords.reshape(3, n * c, h, w), order=1, mode="grid-constant")
    return moved.reshape(images.shape) + background


def gaussian_noise(X, severity, rng=0):
    """Add Gaussian noise of std SEVERITY_TABLE["noise"] = 0.2, 0.4, 0.6, 0.8, 1.0 (standardised units)."""
    std = _level("noise", severity)
    images = _as_images(X)
    return _like(X, images + std * as_generator(rng).standard_normal(images.shape))


def rotate(X, severity, rng=0):
    """Rotate each image about its centre, background filling the corners.

    Max angle SEVERITY_TABLE["rotation"] = 10, 20, 30, 45, 60 degrees; each
    image gets a random sign and a magnitude uniform in [0.5, 1] * max.
    """
    max_angle = _level("rotation", severity)
    images = _as_images(X)
    gen = as_generator(rng)
    n = len(images)
    angle = np.deg2rad(max_angle * gen.uniform(0.5, 1.0, n) * gen.choice([-1.0, 1.0], n))
    cos, sin = np.cos(angle), np.sin(angle)
    inverse = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)
    return _like(X, _warp(images, inverse, np.zeros((n, 2))))


def translate(X, severity, rng=0):
    """Move each image in a random direction, background filling in.

    Distance SEVERITY_TABLE["translation"] = 0.1, 0.15, 0.2, 0.25, 0.35 of the
    (shorter) image side: 0.8, 1.2, 1.6, 2.0, 2.8 pixels on 8x8 digits,
    2.8 .. 9.8 pixels on 28x28 MNIST. Fractional shifts interpolate bilinearly.
    """
    fraction = _level("translation", severity)
    images = _as_images(X)
    n, _, h, w = images.shape
    direction = as_generator(rng).uniform(0, 2 * np.pi, n)
    offset = fraction * min(h, w) * np.stack([np.sin(direction), np.cos(direction)], -1)
    return _like(X, _warp(images, np.broadcast_to(np.eye(2), (n, 2, 2)), offset))


def contrast(X, severity, rng=0):
    """Pull each image towards its own mean: mean + factor * (x - mean).

    factor SEVERITY_TABLE["contrast"] = 0.8, 0.6, 0.45, 0.3, 0.2. Deterministic;
    ``rng`` is accepted only so every shift has the same signature.
    """
    factor = _level("contrast", severity)
    as_generator(rng)  # unused, but a bad rng is an error here as in every shift
    images = _as_images(X)
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    return _like(X, mean + factor * (images - mean))


def blur(X, severity, rng=0):
    """Gaussian blur of sigma SEVERITY_TABLE["blur"] = 0.4, 0.6, 0.8, 1.0, 1.3 pixels.

    Each channel is blurred on its own (edges repeat the border pixel).
    Deterministic; ``rng`` is accepted only so every shift has the same signature.
    """
    sigma = _level("blur", severity)
    as_generator(rng)  # unused, but a bad rng is an error here as in every shift
    images = _as_images(X)
    from scipy.ndimage import gaussian_filter

    return _like(X, gaussian_filter(images, sigma=(0, 0, sigma, sigma), mode="nearest"))


def occlude(X, severity, rng=0):
    """Set a patch at a random position in each image to the background.

    Patch side SEVERITY_TABLE["occlusion"] = 0.2, 0.3, 0.4, 0.5, 0.6 of the
    image side, rounded: 2, 2, 3, 4, 5 pixels on 8x8; 6, 8, 11, 14, 17 on 28x28.
    """
    fraction = _level("occlusion", severity)
    images = _as_images(X)
    gen = as_generator(rng)
    n, _, h, w = images.shape
    ph, pw = max(1, round(fraction * h)), max(1, round(fraction * w))
    top = gen.integers(0, h - ph + 1, n)[:, None, None, None]
    left = gen.integers(0, w - pw + 1, n)[:, None, None, None]
    rows, cols = np.arange(h)[:, None], np.arange(w)
    inside = (rows >= top) & (rows < top + ph) & (cols >= left) & (cols < left + pw)
    return _like(X, np.where(inside, _background(images), images))


_SHIFT_FUNCTIONS = {
    "noise": gaussian_noise,
    "rotation": rotate,
    "translation": translate,
    "contrast": contrast,
    "blur": blur,
    "occlusion": occlude,
}


def shift(X, kind, severity, *, rng=0):
    """Apply the distribution shift ``kind`` (one of SHIFTS) at ``severity`` 1..5.

    X: standardised images, (N, D) with D a perfect square or (N, C, H, W).
    Returns a new array of the same shape and dtype; X is not modified.
    """
    check_choice("kind", kind, SHIFTS)
    return _SHIFT_FUNCTIONS[kind](X, severity, as_generator(rng))
