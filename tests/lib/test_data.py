"""Tests for minnet.data: loaders, splits and distribution shifts (offline, fast)."""

import itertools
import re
import types
import urllib.error

import numpy as np
import pytest

from minnet import data

RANDOM_SHIFTS = ("noise", "rotation", "translation", "occlusion")


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


@pytest.fixture(scope="module")
def images(digits):
    """200 standardised test digits, (200, 1, 8, 8) float32."""
    return digits.as_images().X_test[:200]


# ---------------------------------------------------------------- digits


def test_digits_sizes_dtypes_and_labels(digits):
    sizes = [len(digits.X_train), len(digits.X_val), len(digits.X_test)]
    assert sum(sizes) == 1797
    assert [len(digits.y_train), len(digits.y_val), len(digits.y_test)] == sizes
    assert sizes[2] == pytest.approx(0.2 * 1797, abs=1)
    assert sizes[1] == pytest.approx(0.15 * 1797, abs=1)
    for X, y in [(digits.X_train, digits.y_train), (digits.X_val, digits.y_val), (digits.X_test, digits.y_test)]:
        assert X.dtype == np.float32 and X.shape[1:] == (64,)
        assert y.dtype == np.int64 and y.min() == 0 and y.max() == 9
    assert digits.n_classes == 10 and digits.n_features == 64
    assert digits.image_shape == (1, 8, 8) and digits.name == "digits"


def test_digits_split_is_stratified(digits):
    y_all = np.concatenate([digits.y_train, digits.y_val, digits.y_test])
    overall = np.bincount(y_all, minlength=10) / len(y_all)
    for y in (digits.y_train, digits.y_val, digits.y_test):
        share = np.bincount(y, minlength=10) / len(y)
        assert (share > 0).all()
        np.testing.assert_allclose(share, overall, atol=0.01)


def test_digits_standardised_with_one_scalar(digits):
    assert abs(digits.X_train.mean()) < 1e-5
    assert digits.X_train.std() == pytest.approx(1.0, abs=1e-5)
    assert isinstance(digits.mean, float) and isinstance(digits.std, float)
    assert 0 < digits.mean < 1  # raw pixels were scaled to [0, 1]
    # Global scalar: raw 0 maps to one background value, the minimum of every image.
    background = (0.0 - digits.mean) / digits.std
    np.testing.assert_allclose(digits.X_test.min(axis=1), background, rtol=1e-6)
    # Val/test use the train constants, so they are only roughly standardised.
    assert abs(digits.X_test.mean()) < 0.1


def test_as_images_and_as_flat(digits):
    imgs = digits.as_images()
    assert imgs.X_train.shape == (len(digits.X_train), 1, 8, 8)
    assert imgs.X_val.shape[1:] == imgs.X_test.shape[1:] == (1, 8, 8)
    np.testing.assert_array_equal(imgs.X_train.reshape(len(digits.X_train), -1), digits.X_train)
    np.testing.assert_array_equal(imgs.as_flat().X_test, digits.X_test)
    np.testing.assert_array_equal(data.load_digits(as_images=True).X_val, imgs.X_val)
    assert imgs.n_features == 64 and imgs.y_train is digits.y_train


def test_repr_is_a_short_summary(digits):
    text = repr(digits)
    assert "digits" in text and str(len(digits.X_train)) in text and "10 classes" in text
    assert "\n" not in text and len(text) < 120


def test_dataset_is_frozen(digits):
    with pytest.raises(AttributeError):
        digits.name = "other"


def test_same_seed_same_data_other_seed_other_split():
    a, b = data.load_digits(rng=3), data.load_digits(rng=np.random.default_rng(3))
    for field in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.mean == b.mean and a.std == b.std
    c = data.load_digits(rng=4)
    assert not np.array_equal(a.y_train, c.y_train)


def test_float64_dtype_option():
    assert data.load_digits(dtype=np.float64).X_train.dtype == np.float64
    with pytest.raises(TypeError, match="dtype"):
        data.load_digits(dtype=np.int32)


def test_global_random_state_is_untouched(images):
    np.random.seed(123)
    before = np.random.get_state()
    data.load_digits(rng=None)
    data.make_spirals()
    data.make_moons()
    for kind in data.SHIFTS:
        data.shift(images, kind, 3)
    after = np.random.get_state()
    assert before[0] == after[0] and before[2:] == after[2:]
    np.testing.assert_array_equal(before[1], after[1])
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    data.load_digits()
    assert np.random.random() == expected


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"val_fraction": 0}, r"val_fraction must be a finite number in \(0, 1\), got 0"),
        ({"val_fraction": 1.5}, "val_fraction .* got 1.5"),
        ({"test_fraction": -0.1}, "test_fraction .* got -0.1"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "val_fraction \\+ test_fraction must be < 1"),
    ],
)
def test_bad_fractions(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.load_digits(**kwargs)


def test_a_fraction_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="test_fraction .* got str '0.2'"):
        data.load_digits(test_fraction="0.2")


@pytest.mark.parametrize("rng, error", [("seed", TypeError), (1.5, TypeError), (-1, ValueError)])
def test_bad_rng(rng, error):
    with pytest.raises(error, match="rng"):
        data.load_digits(rng=rng)


# ---------------------------------------------------------------- split


def test_split_custom_data():
    X, y = data.make_spirals(50, 3)
    ds = data.split(X, y, val_fraction=0.2, test_fraction=0.2, rng=0, name="spirals")
    assert (len(ds.X_train), len(ds.X_val), len(ds.X_test)) == (90, 30, 30)
    assert ds.image_shape is None and ds.n_features == 2 and ds.n_classes == 3
    assert abs(ds.X_train.mean()) < 1e-5 and ds.X_train.std() == pytest.approx(1, abs=1e-5)
    with pytest.raises(ValueError, match="image_shape"):
        ds.as_images()


def test_split_infers_image_shape_and_checks_it():
    rng = np.random.default_rng(0)
    X, y = rng.random((60, 1, 4, 4)), np.repeat(np.arange(3), 20)
    ds = data.split(X, y, val_fraction=0.2, test_fraction=0.2, rng=0)
    assert ds.image_shape == (1, 4, 4) and ds.X_train.shape[1:] == (16,)
    assert ds.as_images().X_test.shape[1:] == (1, 4, 4)
    with pytest.raises(ValueError, match="image_shape must have 16 elements"):
        data.split(X, y, val_fraction=0.2, test_fraction=0.2, rng=0, image_shape=(1, 3, 3))
    with pytest.raises(TypeError, match="y must hold integer labels"):
        data.split(X, y.astype(float), val_fraction=0.2, test_fraction=0.2, rng=0)


# ---------------------------------------------------------------- synthetic


def test_spirals():
    X, y = data.make_spirals(n_per_class=40, n_classes=4)
    assert X.shape == (160, 2) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [40] * 4)
    np.testing.assert_array_equal(data.make_spirals(40, 4)[0], X)
    assert not np.array_equal(data.make_spirals(40, 4, rng=1)[0], X)
    # Without noise every point sits at radius r on its arm, r running 0..1.
    X0, y0 = data.make_spirals(40, 4, noise=0.0)
    radius = np.linalg.norm(X0, axis=1)
    np.testing.assert_allclose(radius[y0 == 2], np.linspace(0, 1, 40), atol=1e-6)
    with pytest.raises(ValueError, match="n_per_class must be a positive int, got 0"):
        data.make_spirals(0)


def test_moons():
    X, y = data.make_moons(50)
    assert X.shape == (50, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    np.testing.assert_array_equal(data.make_moons(50)[0], X)
    assert not np.array_equal(data.make_moons(50, rng=1)[0], X)


# ---------------------------------------------------------------- mnist


def test_load_mnist_offline_error(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(data, "_fetch_openml", offline)
    with pytest.raises(RuntimeError) as info:
        data.load_mnist()
    message = str(info.value)
    for words in ("MNIST could not be downloaded", "offline", "~/scikit_learn_data", "load_digits()"):
        assert words in message
    assert isinstance(info.value.__cause__, urllib.error.URLError)
    with pytest.raises(RuntimeError, match="/some/cache"):
        data.load_mnist(data_home="/some/cache")


@pytest.fixture
def fake_mnist(monkeypatch):
    """Stub fetch_openml with 1000 random 'images' and string labels, as OpenML returns."""
    rng = np.random.default_rng(0)
    calls = []

    def fetch(name, **kwargs):
        calls.append((name, kwargs))
        pixels = rng.integers(0, 256, (1000, 784)).astype(np.float64)
        labels = np.array([str(d) for d in range(10)] * 100, dtype=object)
        return types.SimpleNamespace(data=pixels, target=labels)

    monkeypatch.setattr(data, "_fetch_openml", fetch)
    return calls


def test_load_mnist_with_fake_fetch(fake_mnist):
    ds = data.load_mnist(as_images=True, data_home="/tmp/cache")
    assert fake_mnist[0][0] == "mnist_784"
    assert fake_mnist[0][1]["data_home"] == "/tmp/cache" and fake_mnist[0][1]["as_frame"] is False
    assert len(ds.X_train) + len(ds.X_val) + len(ds.X_test) == 1000
    assert ds.X_train.shape[1:] == (1, 28, 28) and ds.X_train.dtype == np.float32
    assert ds.y_train.dtype == np.int64 and ds.n_classes == 10
    assert ds.mean == pytest.approx(127.5 / 255, abs=0.01)  # uniform 0..255, scaled to [0, 1]
    assert abs(ds.X_train.mean()) < 1e-5 and ds.X_train.std() == pytest.approx(1, abs=1e-5)
    assert ds.name == "mnist" and ds.as_flat().n_features == 784


def test_load_mnist_subsample(fake_mnist):
    ds = data.load_mnist(n_train=130)
    assert abs(len(ds.X_train) - 130) <= 2
    assert len(ds.X_train) + len(ds.X_val) + len(ds.X_test) == 200
    assert (np.bincount(ds.y_train, minlength=10) > 0).all()
    with pytest.raises(ValueError, match="n_train must be an int"):
        data.load_mnist(n_train=5000)


# ---------------------------------------------------------------- shifts


@pytest.mark.parametrize("kind", data.SHIFTS)
def test_shift_keeps_shape_dtype_and_input(kind, images):
    flat = images.reshape(len(images), -1)
    flat_copy = flat.copy()
    out = data.shift(flat, kind, 3, rng=1)
    assert out.shape == flat.shape and out.dtype == np.float32
    np.testing.assert_array_equal(flat, flat_copy)
    assert not np.array_equal(out, flat)
    as_images = data.shift(images.astype(np.float64), kind, 3, rng=1)
    assert as_images.shape == images.shape and as_images.dtype == np.float64
    np.testing.assert_allclose(as_images.reshape(flat.shape), out, atol=1e-5)
    np.testing.assert_array_equal(data.shift(flat, kind, 3, rng=1), out)


@pytest.mark.parametrize("kind", RANDOM_SHIFTS)
def test_random_shifts_depend_on_rng(kind, images):
    a = data.shift(images, kind, 3, rng=1)
    assert not np.array_equal(a, data.shift(images, kind, 3, rng=2))
    np.testing.assert_array_equal(a, data.shift(images, kind, 3, rng=np.random.default_rng(1)))


@pytest.mark.parametrize("kind", data.SHIFTS)
def test_effect_grows_with_severity(kind, images):
    change = [np.abs(data.shift(images, kind, s) - images).mean() for s in range(1, 6)]
    assert change[0] < change[-1]
    assert all(b >= a - 0.02 for a, b in itertools.pairwise(change))
    if kind in ("noise", "contrast", "blur"):
        assert all(b > a for a, b in itertools.pairwise(change))


def test_shift_matches_the_named_functions(images):
    functions = [data.gaussian_noise, data.rotate, data.translate, data.contrast, data.blur, data.occlude]
    for kind, function in zip(data.SHIFTS, functions, strict=True):
        np.testing.assert_array_equal(data.shift(images, kind, 2, rng=5), function(images, 2, rng=5))
    assert set(data.SEVERITY_TABLE) == set(data.SHIFTS)
    assert all(len(levels) == 5 for levels in data.SEVERITY_TABLE.values())


def test_noise_has_the_table_std(images):
    for severity, std in enumerate(data.SEVERITY_TABLE["noise"], start=1):
        noise = data.gaussian_noise(images, severity) - images
        assert noise.std() == pytest.approx(std, rel=0.05)


def test_contrast_keeps_image_mean_and_scales_deviation(images):
    out = data.contrast(images, 4)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), images.mean(axis=(1, 2, 3)), atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 0.3 * images.std(axis=(1, 2, 3)), rtol=1e-4)


def test_blur_keeps_constant_images():
    X = np.full((3, 2, 8, 8), -0.7, dtype=np.float32)
    np.testing.assert_allclose(data.blur(X, 5), X, atol=1e-6)


def test_occlusion_sets_one_patch_to_background():
    rng = np.random.default_rng(0)
    X = 1 + rng.random((50, 1, 10, 10))
    out = data.occlude(X, 5, rng=3)  # side 0.6 * 10 = 6 pixels
    changed = out != X
    background = X.min(axis=(1, 2, 3))
    np.testing.assert_array_equal(out[changed], np.repeat(background, changed.sum(axis=(1, 2, 3))))
    assert set(changed.sum(axis=(1, 2, 3))) <= {35, 36}  # 35 if the patch covers the minimum
    rows, cols = changed.any(axis=(1, 3)), changed.any(axis=(1, 2))
    assert (rows.sum(axis=1) == 6).all() and (cols.sum(axis=1) == 6).all()


def test_warp_identity_and_quarter_turn(images):
    n = len(images)
    identity = np.broadcast_to(np.eye(2), (n, 2, 2))
    # Equal up to float32 rounding of (x - background) + background.
    np.testing.assert_allclose(data._warp(images, identity, np.zeros((n, 2))), images, atol=1e-6)
    quarter = np.broadcast_to(np.array([[0.0, 1.0], [-1.0, 0.0]]), (n, 2, 2))
    turned = data._warp(images, quarter, np.zeros((n, 2)))
    np.testing.assert_allclose(turned, np.rot90(images, k=1, axes=(2, 3)), atol=1e-5)


def test_rotation_fills_corners_with_background():
    X = np.zeros((4, 1, 9, 9))
    X[:, :, :, :] = 1.0
    X[:, :, 0, 0] = -2.0  # background (the minimum)
    out = data.rotate(X, 5)
    np.testing.assert_allclose(out[:, 0, 4, 4], 1.0)  # the centre stays put
    assert (out[:, 0, 0, 8] < 0).all()  # the far corner now comes from outside


@pytest.mark.parametrize("severity", [1, 3, 5])
def test_translation_moves_centre_of_mass(severity):
    X = np.full((20, 1, 16, 16), -0.5)
    X[:, 0, 8, 8] = 3.0
    out = data.translate(X, severity, rng=severity)
    mass = out - out.min(axis=(1, 2, 3), keepdims=True)
    rows, cols = np.arange(16)[:, None], np.arange(16)
    total = mass.sum(axis=(1, 2, 3))
    centre = np.stack([(mass * rows).sum(axis=(1, 2, 3)), (mass * cols).sum(axis=(1, 2, 3))], 1) / total[:, None]
    distance = np.linalg.norm(centre - 8, axis=1)
    np.testing.assert_allclose(distance, data.SEVERITY_TABLE["translation"][severity - 1] * 16, atol=1e-6)
    np.testing.assert_allclose(total, 3.5, atol=1e-6)  # nothing lost at this distance


@pytest.mark.parametrize(
    "severity, error", [(0, ValueError), (6, ValueError), (2.5, TypeError), (True, TypeError), ("3", TypeError)]
)
def test_bad_severity(severity, error, images):
    with pytest.raises(
        error, match=re.escape("severity must be an int in 1..5, got ") + ".*" + re.escape(repr(severity))
    ):
        data.shift(images, "blur", severity)


def test_unknown_kind_names_the_known_ones(images):
    with pytest.raises(ValueError, match="kind must be one of .*'rotation'.*got 'zoom'"):
        data.shift(images, "zoom", 1)


def test_bad_image_shapes():
    with pytest.raises(ValueError, match=r"perfect square.*\(5, 10\)"):
        data.shift(np.zeros((5, 10), dtype=np.float32), "noise", 1)
    with pytest.raises(ValueError, match="perfect square"):
        data.rotate(np.zeros((5, 4, 4)), 1)
    with pytest.raises(TypeError, match="X must be a floating-point array, got dtype int64"):
        data.blur(np.zeros((5, 16), dtype=np.int64), 1)
