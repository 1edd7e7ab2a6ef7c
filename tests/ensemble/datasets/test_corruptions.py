"""Tests for ensemble.datasets.corruptions: shapes kept, severity that grows, seeds, errors."""

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from ensemble.datasets import load_fashion_mnist
from ensemble.datasets.corruptions import CORRUPTIONS, SEVERITIES, corrupt

RANDOM = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "rotation",
          "translation", "elastic", "occlusion")
PER_IMAGE = ("rotation", "translation", "elastic", "occlusion")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def fashion():
    (X, _), _, _ = load_fashion_mnist()
    return X[:100]


def smooth_colour_images(n=60, side=32, seed=0):
    """Colour images with structure at several scales, as photographs have."""
    noise = np.random.default_rng(seed).random((n, side, side, 3))
    smooth = gaussian_filter(noise, sigma=(0, side / 16, side / 16, 0))
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return np.rint(smooth * 255).astype(np.uint8)


def mean_change(clean, corrupted):
    return float(np.mean(np.abs(corrupted.astype(float) - clean)))


def test_every_random_and_per_image_corruption_is_listed():
    assert set(RANDOM) <= set(CORRUPTIONS) and len(CORRUPTIONS) == len(set(CORRUPTIONS)) == 12
    assert {"gaussian_noise", "impulse_noise", "gaussian_blur", "contrast", "brightness",
            "rotation", "translation", "pixelation", "occlusion"} <= set(CORRUPTIONS)
    assert SEVERITIES == (1, 2, 3, 4, 5)


@pytest.mark.parametrize("shape", [(5, 8, 8, 1), (5, 28, 28, 1), (5, 28, 28), (5, 32, 32, 3),
                                   (5, 12, 20, 3), (5, 1, 1, 1)], ids=str)
@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_shape_and_dtype_are_kept_and_the_input_is_not_modified(corruption, shape):
    X = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    before = X.copy()
    out = corrupt(X, corruption, 5, random_state=0)
    assert out.shape == X.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(X, before)
    if shape[1] > 1:
        assert not np.array_equal(out, X)


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_severity_zero_is_the_identity_and_returns_a_copy(corruption):
    X = np.random.default_rng(1).integers(0, 256, size=(4, 12, 10, 3), dtype=np.uint8)
    out = corrupt(X, corruption, 0, random_state=0)
    np.testing.assert_array_equal(out, X)
    assert out.dtype == np.uint8 and not np.shares_memory(out, X)


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_an_empty_batch_gives_an_empty_batch(corruption):
    out = corrupt(np.zeros((0, 8, 8, 3), np.uint8), corruption, 1, random_state=0)
    assert out.shape == (0, 8, 8, 3) and out.dtype == np.uint8


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_the_change_grows_with_severity_on_grey_images(corruption, fashion):
    changes = [mean_change(fashion, corrupt(fashion, corruption, severity, random_state=0))
               for severity in SEVERITIES]
    assert changes[0] > 0.5  # severity 1 is visible: more than half a level on average
    assert np.all(np.diff(changes) > 0), changes


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_the_change_grows_with_severity_on_colour_images(corruption):
    X = smooth_colour_images()
    changes = [mean_change(X, corrupt(X, corruption, severity, random_state=1))
               for severity in SEVERITIES]
    assert changes[0] > 0.3
    assert np.all(np.diff(changes) > 0), changes


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_eight_pixel_images_are_changed_more_as_severity_rises(corruption, fashion):
    X = fashion[:, 2:26:3, 2:26:3]  # 8x8, still clothing
    changes = [mean_change(X, corrupt(X, corruption, severity, random_state=0))
               for severity in SEVERITIES]
    assert changes[0] > 0.5
    assert np.all(np.diff(changes) >= 0) and changes[-1] > changes[0], changes


@pytest.mark.parametrize("corruption", RANDOM)
def test_a_seed_gives_the_same_images_and_another_seed_others(corruption, fashion):
    first = corrupt(fashion, corruption, 3, random_state=7)
    np.testing.assert_array_equal(first, corrupt(fashion, corruption, 3, random_state=7))
    np.testing.assert_array_equal(
        first, corrupt(fashion, corruption, 3, random_state=np.random.default_rng(7)))
    assert not np.array_equal(first, corrupt(fashion, corruption, 3, random_state=8))


@pytest.mark.parametrize("corruption", sorted(set(CORRUPTIONS) - set(RANDOM)))
def test_corruptions_without_randomness_ignore_the_seed(corruption, fashion):
    np.testing.assert_array_equal(corrupt(fashion, corruption, 3, random_state=0),
                                  corrupt(fashion, corruption, 3, random_state=1))


@pytest.mark.parametrize("corruption", PER_IMAGE)
def test_each_image_gets_its_own_move(corruption, fashion):
    twins = np.repeat(fashion[:1], 2, axis=0)
    first, second = corrupt(twins, corruption, 4, random_state=0)
    assert not np.array_equal(first, second)


def test_translation_moves_a_pixel_by_whole_pixels_within_its_range():
    X = np.zeros((200, 40, 40, 1), np.uint8)
    X[:, 20, 20] = 255
    out = corrupt(X, "translation", 3, random_state=0)
    # Every moved pixel lands whole (no interpolation) at a distance in [0.15, 0.2] * 40.
    assert set(np.unique(out)) == {0, 255} and np.all(out.reshape(200, -1).sum(axis=1) == 255)
    rows, cols = np.nonzero(out[..., 0])[1:]
    distance = np.hypot(rows - 20, cols - 20)
    assert distance.min() >= 6 - 1 and distance.max() <= 8 + 1


def test_occlusion_covers_one_grey_square_of_the_stated_size():
    out = corrupt(np.zeros((50, 20, 20, 3), np.uint8), "occlusion", 3, random_state=0)
    grey = np.all(out == 128, axis=3)
    assert np.all(grey.sum(axis=(1, 2)) == 9 * 9)  # round(0.45 * 20) squared
    assert np.all(out[~grey] == 0)
    tops = np.argmax(grey.any(axis=2), axis=1)
    assert len(np.unique(tops)) > 5  # the square moves from image to image


def test_photometric_corruptions_do_what_their_table_says():
    X = np.full((3, 8, 8, 1), 100, np.uint8)
    X[:, :4] = 200
    assert np.all(corrupt(X, "brightness", 2) == X + 51)  # 0.2 * 255
    contrast = corrupt(X, "contrast", 3).astype(float)  # keeps 0.3 of the distance to 150
    np.testing.assert_allclose(np.unique(contrast), [135, 165])
    blurred = corrupt(np.full((2, 10, 10, 3), 77, np.uint8), "gaussian_blur", 5)
    assert np.all(blurred == 77)  # a flat image stays flat


def test_pixelation_makes_blocks():
    X = np.random.default_rng(0).integers(0, 256, size=(4, 8, 8, 2), dtype=np.uint8)
    out = corrupt(X, "pixelation", 3).astype(int)  # 8 pixels -> 4 blocks of 2
    np.testing.assert_array_equal(out[:, ::2, ::2], out[:, 1::2, 1::2])
    block_means = X.reshape(4, 4, 2, 4, 2, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(out[:, ::2, ::2], block_means, atol=0.5 + 1e-3)


def test_impulse_noise_sets_the_stated_share_to_black_or_white():
    X = np.full((50, 28, 28, 1), 128, np.uint8)
    out = corrupt(X, "impulse_noise", 5, random_state=0)
    assert np.mean(out != 128) == pytest.approx(0.24, abs=0.01)
    assert set(np.unique(out)) == {0, 128, 255}


def test_the_3000_image_benchmark_size_takes_seconds_not_minutes(fashion):
    """A smoke test of the vectorisation: 1,000 images, every corruption, severity 5."""
    X = np.tile(fashion, (10, 1, 1, 1))
    start = time.perf_counter()
    for corruption in CORRUPTIONS:
        corrupt(X, corruption, 5, random_state=0)
    assert time.perf_counter() - start < 30  # about 1 s unloaded; generous for shared CPUs


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(corruption="fog"), ValueError, r"corruption must be one of \('gaussian_noise'"),
    (dict(corruption=None), ValueError, "occlusion"),
    (dict(severity=-1), ValueError, r"severity must be an int in \[0, 5\], got -1"),
    (dict(severity=6), ValueError, r"in \[0, 5\], got 6"),
    (dict(severity=2.0), ValueError, r"in \[0, 5\], got 2.0"),
    (dict(severity=True), ValueError, r"in \[0, 5\], got True"),
    (dict(X=np.zeros((2, 8, 8, 1), np.float32)), ValueError, "uint8 pixels.*float32"),
    (dict(X=np.zeros((2, 64), np.uint8)), ValueError, r"\(n_images, height, width, channels\)"),
    (dict(X=np.zeros((2, 8, 8, 1, 1), np.uint8)), ValueError, "got shape"),
    (dict(X=np.zeros((2, 0, 8, 1), np.uint8)), ValueError, "no pixels"),
])
def test_invalid_arguments_are_refused_with_a_message_that_names_them(kwargs, error, match):
    arguments = dict(X=np.zeros((2, 8, 8, 1), np.uint8), corruption="rotation", severity=1)
    with pytest.raises(error, match=match):
        corrupt(**(arguments | kwargs))


def test_neither_module_nor_package_imports_tensorflow_and_the_package_defers_scipy():
    code = ("import sys; import ensemble.datasets as datasets; print('scipy' in sys.modules); "
            "datasets.corrupt; print('scipy' in sys.modules, 'tensorflow' in sys.modules, "
            "'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["False", "True", "False", "False"]
