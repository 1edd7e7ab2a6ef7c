"""Shifted images: noise, blur, contrast, geometry and occlusion at five severities.

:func:`corrupt` turns clean test images into the shifted images an ensemble
should grow less sure of, in the manner of Hendrycks and Dietterich's
CIFAR-10-C and ImageNet-C (2019), adapted to small images of any size:

=================  ====================================================  ====================
corruption         what it does                                          severities 1 .. 5
=================  ====================================================  ====================
gaussian_noise     adds normal noise of standard deviation s             s = 0.04 .. 0.26
shot_noise         Poisson photon noise: ``poisson(x * s) / s``          s = 100 .. 6
impulse_noise      sets a share s of the values to 0 or 255 (salt and    s = 0.02 .. 0.24
                   pepper)
speckle_noise      multiplies by ``1 + normal noise`` of std s           s = 0.1 .. 0.6
gaussian_blur      Gaussian filter of s pixels (times side / 32 for      s = 0.5 .. 1.5
                   images larger than 32 pixels)
contrast           pulls every value toward the image's mean, keeping    s = 0.6 .. 0.1
                   a share s of its distance
brightness         adds s to every value                                 s = 0.1 .. 0.5
pixelation         averages blocks down to a share s of each side, then  s = 0.75 .. 0.3
                   enlarges them back
rotation           rotates about the centre by a random angle, either    5-10 .. 30-40 degrees
                   way
translation        shifts by a random whole number of pixels in a        0.05-0.1 .. 0.25-0.3
                   random direction, a share of the shorter side
elastic            moves pixels by a smooth random field (Simard et al.  std 0.015 .. 0.075
                   2003) whose standard deviation is a share of the      of the side
                   shorter side
occlusion          covers a random square of mid-grey whose side is a    s = 0.2 .. 0.7
                   share s of the shorter side
=================  ====================================================  ====================

Values are taken as ``x = pixel / 255`` in [0, 1] and the result is rounded
and clipped back to ``uint8``. Lengths are shares of the image's sides, so
an 8x8 and a 96x96 image are corrupted alike; where a share of a tiny image
would round to nothing (a blur under half a pixel, a shift under one pixel),
the smallest visible amount is used instead. Pixels that a rotation,
translation or elastic move uncovers are black (0), as the fill of
torchvision's transforms and of this project's test-time shifts.

Random corruptions draw from ``numpy.random.default_rng(random_state)``:
the same ``random_state`` gives the same images, and every image gets its
own angle, shift, field or square. The draws do not depend on the severity,
so with one ``random_state`` each image is corrupted the same way, only more,
as the severity rises.

Everything is vectorised over the images (one NumPy or SciPy call per
batch); this module never imports TensorFlow.
"""

import numpy as np
from scipy.ndimage import gaussian_filter

from members.utils.checks import is_int

__all__ = ["CORRUPTIONS", "SEVERITIES", "corrupt"]

#: The severities :func:`corrupt` accepts, mildest first.
SEVERITIES = (1, 2, 3, 4, 5)

#: The value of each corruption's parameter at severities 1 .. 5.
_GAUSSIAN_STD = (0.04, 0.08, 0.12, 0.18, 0.26)
_SHOT_PHOTONS = (100, 50, 25, 12, 6)
_IMPULSE_SHARE = (0.02, 0.05, 0.09, 0.15, 0.24)
_SPECKLE_STD = (0.1, 0.2, 0.3, 0.45, 0.6)
_BLUR_PIXELS = (0.5, 0.75, 1.0, 1.25, 1.5)
_CONTRAST_KEPT = (0.6, 0.45, 0.3, 0.2, 0.1)
_BRIGHTNESS_ADDED = (0.1, 0.2, 0.3, 0.4, 0.5)
_PIXELATION_SIDE = (0.75, 0.6, 0.5, 0.4, 0.3)
#: Random amounts: severity s draws uniformly between entries s - 1 and s.
_ROTATION_DEGREES = (5, 10, 15, 22, 30, 40)
_TRANSLATION_SHARE = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
_ELASTIC_SHARE = (0.015, 0.03, 0.045, 0.06, 0.075)
#: The smoothness of the elastic field: its Gaussian's sigma, a share of the side.
_ELASTIC_SMOOTHNESS = 0.12
#: Steps of 1/8: on an 8-pixel image each severity grows the square by a pixel.
_OCCLUSION_SHARE = (0.2, 0.325, 0.45, 0.575, 0.7)
_OCCLUSION_GREY = 0.5


def corrupt(X, corruption, severity, *, random_state=None):
    """A corrupted copy of a batch of images.

    Parameters
    ----------
    X : array-like of uint8, shape (n_images, height, width, channels) or (n_images, height, width)
        Images of any size and any number of channels (a 3-D array is
        grey images). Not modified.
    corruption : str
        One of :data:`CORRUPTIONS`; the table in this module's docstring
        says what each does.
    severity : int
        1 (mildest) to 5; 0 returns an unchanged copy (the clean images, so
        that a loop over ``(0,) + SEVERITIES`` starts from the baseline).
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the random corruptions (noise, angles, shifts, fields,
        squares): the same value gives the same images. None draws fresh
        randomness. Corruptions without randomness ignore it.

    Returns
    -------
    ndarray of uint8, same shape as ``X``

    Raises
    ------
    ValueError
        If ``corruption`` is unknown (the message lists the valid ones),
        ``severity`` is not an int in [0, 5], ``X`` is not uint8, or ``X``
        is not a 3-D or 4-D array of images with pixels.

    See Also
    --------
    ensemble.evaluation.uncertainty.ood_scores : Whether an uncertainty flags the corrupted images.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.datasets.corruptions import corrupt
    >>> X = np.full((2, 8, 8, 1), 100, dtype=np.uint8)
    >>> int(corrupt(X, "brightness", 2).max())  # 100 + 0.2 * 255
    151
    >>> noisy = corrupt(X, "gaussian_noise", 5, random_state=0)
    >>> noisy.shape, noisy.dtype
    ((2, 8, 8, 1), dtype('uint8'))
    >>> bool(np.array_equal(noisy, corrupt(X, "gaussian_noise", 5, random_state=0)))
    True
    """
    if not isinstance(corruption, str) or corruption not in _CORRUPTIONS:
        raise ValueError(f"corruption must be one of {CORRUPTIONS}, got {corruption!r}.")
    if not is_int(severity) or not 0 <= severity <= SEVERITIES[-1]:
        raise ValueError(f"severity must be an int in [0, 5], got {severity!r}.")
    X = _checked_images(X)
    if severity == 0:
        return X.copy()
    channels = X.shape[3] if X.ndim == 4 else 1
    images = X.reshape(X.shape[:3] + (channels,)).astype(np.float32) / 255
    if len(images):
        images = _CORRUPTIONS[corruption](images, severity - 1, np.random.default_rng(random_state))
    return np.clip(np.rint(images * 255), 0, 255).astype(np.uint8).reshape(X.shape)


# --- noise: each value on its own ----------------------------------------------


def _gaussian_noise(images, level, rng):
    return images + _GAUSSIAN_STD[level] * rng.standard_normal(images.shape, dtype=np.float32)


def _shot_noise(images, level, rng):
    photons = _SHOT_PHOTONS[level]
    return (rng.poisson(images * photons) / photons).astype(np.float32)


def _impulse_noise(images, level, rng):
    share = _IMPULSE_SHARE[level]
    draw = rng.random(images.shape, dtype=np.float32)
    # One draw decides both: the lowest share/2 become pepper, the highest salt.
    images = np.where(draw < share / 2, np.float32(0), images)
    return np.where(draw > 1 - share / 2, np.float32(1), images)


def _speckle_noise(images, level, rng):
    noise = rng.standard_normal(images.shape, dtype=np.float32)
    return images * (1 + _SPECKLE_STD[level] * noise)


# --- photometric: the same for every image --------------------------------------


def _gaussian_blur(images, level, rng):
    # Below half a pixel a Gaussian filter changes nothing once rounded to
    # uint8, so small images get the blur of a 32-pixel image.
    sigma = _BLUR_PIXELS[level] * max(1.0, min(images.shape[1:3]) / 32)
    return gaussian_filter(images, sigma=(0, sigma, sigma, 0), mode="nearest")


def _contrast(images, level, rng):
    means = images.mean(axis=(1, 2, 3), keepdims=True)
    return means + _CONTRAST_KEPT[level] * (images - means)


def _brightness(images, level, rng):
    return images + np.float32(_BRIGHTNESS_ADDED[level])


def _pixelation(images, level, rng):
    share = _PIXELATION_SIDE[level]
    for axis in (1, 2):
        side = images.shape[axis]
        blocks = max(1, round(side * share))
        # Pixel i joins block i * blocks // side: blocks as equal in size as can be.
        block_of = np.arange(side) * blocks // side
        starts = np.searchsorted(block_of, np.arange(blocks))
        sizes = np.diff(np.append(starts, side)).reshape([-1 if a == axis else 1
                                                          for a in range(4)])
        means = np.add.reduceat(images, starts, axis=axis) / sizes.astype(np.float32)
        images = np.take(means, block_of, axis=axis)
    return images


# --- geometric: a random move per image -----------------------------------------


def _rotation(images, level, rng):
    n_images, height, width, _ = images.shape
    signed = rng.uniform(-1, 1, n_images)  # the sign picks the way, the size the angle
    low, high = _ROTATION_DEGREES[level], _ROTATION_DEGREES[level + 1]
    angle = np.deg2rad(np.sign(signed) * (low + np.abs(signed) * (high - low)))
    rows, cols = _centred_grid(height, width)
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    # Each output pixel reads the source pixel that the rotation carries onto it.
    source_rows = cos * rows - sin * cols + (height - 1) / 2
    source_cols = sin * rows + cos * cols + (width - 1) / 2
    return _sample(images, source_rows, source_cols)


def _translation(images, level, rng):
    n_images, height, width, _ = images.shape
    share = rng.uniform(_TRANSLATION_SHARE[level], _TRANSLATION_SHARE[level + 1], n_images)
    direction = rng.uniform(0, 2 * np.pi, n_images)
    # At least one pixel: a shift under a pixel would round to none.
    pixels = np.maximum(share * min(height, width), 1.0)
    shift_rows = np.rint(pixels * np.sin(direction))[:, None, None]
    shift_cols = np.rint(pixels * np.cos(direction))[:, None, None]
    rows, cols = np.arange(height)[None, :, None], np.arange(width)[None, None, :]
    return _sample(images, rows - shift_rows, cols - shift_cols)


def _elastic(images, level, rng):
    n_images, height, width, _ = images.shape
    side = min(height, width)
    field = rng.standard_normal((2, n_images, height, width), dtype=np.float32)
    field = gaussian_filter(field, sigma=(0, 0, _ELASTIC_SMOOTHNESS * side,
                                          _ELASTIC_SMOOTHNESS * side))
    field *= _ELASTIC_SHARE[level] * side / max(float(field.std()), 1e-12)
    rows, cols = np.arange(height)[None, :, None], np.arange(width)[None, None, :]
    return _sample(images, rows + field[0], cols + field[1])


def _occlusion(images, level, rng):
    n_images, height, width, _ = images.shape
    patch = max(1, round(_OCCLUSION_SHARE[level] * min(height, width)))
    where = rng.random((2, n_images))
    top = np.floor(where[0] * (height - patch + 1)).astype(int)[:, None]
    left = np.floor(where[1] * (width - patch + 1)).astype(int)[:, None]
    in_rows = (np.arange(height) >= top) & (np.arange(height) < top + patch)
    in_cols = (np.arange(width) >= left) & (np.arange(width) < left + patch)
    covered = in_rows[:, :, None, None] & in_cols[:, None, :, None]
    return np.where(covered, np.float32(_OCCLUSION_GREY), images)


#: Name -> function(images (n, h, w, c) float32 in [0, 1], level 0..4, rng) -> float images.
_CORRUPTIONS = {
    "gaussian_noise": _gaussian_noise,
    "shot_noise": _shot_noise,
    "impulse_noise": _impulse_noise,
    "speckle_noise": _speckle_noise,
    "gaussian_blur": _gaussian_blur,
    "contrast": _contrast,
    "brightness": _brightness,
    "pixelation": _pixelation,
    "rotation": _rotation,
    "translation": _translation,
    "elastic": _elastic,
    "occlusion": _occlusion,
}

#: The names :func:`corrupt` accepts.
CORRUPTIONS = tuple(_CORRUPTIONS)


# --- shared steps ----------------------------------------------------------------


def _centred_grid(height, width):
    """Row and column offsets of every pixel from the image's centre, (1, h, 1) and (1, 1, w)."""
    rows = np.arange(height)[None, :, None] - (height - 1) / 2
    cols = np.arange(width)[None, None, :] - (width - 1) / 2
    return rows, cols


def _sample(images, rows, cols):
    """Each image read at (rows, cols), bilinearly, 0 outside it.

    ``rows`` and ``cols`` broadcast to (n_images, height, width): image ``i``'s
    output pixel ``(r, c)`` is ``images[i]`` at ``(rows[i, r, c], cols[i, r, c])``.
    NumPy gathers rather than ``scipy.ndimage.map_coordinates``: one call for
    the whole batch with a different move per image, and every channel at once.
    """
    n_images, height, width, channels = images.shape
    # A border of zeros around each image: a corner outside it reads that border.
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0))).reshape(-1, channels)
    rows, cols = np.broadcast_arrays(np.asarray(rows, np.float32), np.asarray(cols, np.float32))
    top, left = np.floor(rows), np.floor(cols)
    down, right = (rows - top)[..., None], (cols - left)[..., None]
    first_pixel = np.arange(n_images)[:, None, None] * ((height + 2) * (width + 2))

    def pixels(row, col):
        row = np.clip(row, -1, height).astype(np.intp) + 1
        col = np.clip(col, -1, width).astype(np.intp) + 1
        return np.take(padded, first_pixel + row * (width + 2) + col, axis=0)

    if not down.any() and not right.any():  # whole-pixel moves: no interpolation
        return pixels(top, left)
    return ((1 - down) * ((1 - right) * pixels(top, left) + right * pixels(top, left + 1))
            + down * ((1 - right) * pixels(top + 1, left) + right * pixels(top + 1, left + 1)))


def _checked_images(X):
    """``X`` as a uint8 array of shape (n, h, w) or (n, h, w, c) with pixels."""
    X = np.asarray(X)
    if X.dtype != np.uint8:
        raise ValueError(f"X must hold uint8 pixels (0-255); got dtype {X.dtype}. Images "
                         "scaled to [0, 1] need X = np.rint(X * 255).astype(np.uint8).")
    if X.ndim not in (3, 4):
        raise ValueError("X must have shape (n_images, height, width, channels) or (n_images, "
                         f"height, width); got shape {X.shape}")
    if 0 in X.shape[1:]:
        raise ValueError(f"X holds images of shape {X.shape[1:]}, which have no pixels")
    return X
