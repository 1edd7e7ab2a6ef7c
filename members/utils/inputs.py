"""Turning what users pass (flat rows or images, raw pixels or scaled) into model inputs."""

import math
import numbers

import numpy as np

#: Largest value of an 8-bit pixel: raw pixels are divided by it.
MAX_PIXEL = 255.0


def flatten_images(X):
    """Flatten image batches to rows, leaving everything else untouched.

    scikit-learn validates 2-D data only; images of shape (n, H, W, C) are
    flattened so that one validation path (feature names, finiteness,
    ``n_features_in_``) serves both layouts.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])

    Returns
    -------
    X_rows : array-like of shape (n_samples, n_features)
        ``X`` itself when it has at most two dimensions.
    image_shape : tuple of int or None
        The per-sample shape of ``X`` when it had more than two dimensions.
    """
    ndim = getattr(X, "ndim", None)
    if ndim is None or ndim <= 2:
        return X, None
    X = np.asarray(X)
    image_shape = tuple(int(d) for d in X.shape[1:])
    # An explicit row length: reshape(n, -1) can't infer it for zero images,
    # and the validation that follows should say "0 samples" instead.
    return X.reshape(X.shape[0], math.prod(image_shape)), image_shape


def square_image_shape(n_features):
    """Guess the image shape of a flat row of ``n_features`` pixels.

    A perfect square is read as a square grey image (784 -> 28x28x1); any
    other length as a single row of pixels, one pixel high, so that the
    convolutional members still accept it (scikit-learn's own checks pass
    two-feature data, for instance).

    Parameters
    ----------
    n_features : int

    Returns
    -------
    tuple of int
        ``(height, width, channels)``.
    """
    side = math.isqrt(n_features)
    if side * side == n_features:
        return (side, side, 1)
    return (1, n_features, 1)


def resolve_input_shape(input_shape, image_shape, n_features, default):
    """Decide the per-sample shape the network sees.

    Parameters
    ----------
    input_shape : tuple of int or None
        What the user asked for.
    image_shape : tuple of int or None
        The shape of the images passed to ``fit``, if they were N-d.
    n_features : int
        Number of values per sample.
    default : callable
        ``default(n_features) -> tuple``, the estimator's guess for flat rows.

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        If ``input_shape`` does not hold ``n_features`` values.
    """
    if input_shape is None:
        return image_shape if image_shape is not None else tuple(default(n_features))
    shape = _as_shape(input_shape)
    if math.prod(shape) != n_features:
        raise ValueError(
            f"input_shape={shape} holds {math.prod(shape)} values per sample, but X "
            f"has {n_features} features per sample."
        )
    return shape


def _as_shape(input_shape):
    if isinstance(input_shape, numbers.Integral):
        input_shape = (input_shape,)
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise TypeError(
            f"input_shape must be a tuple of positive ints or None, got {input_shape!r}."
        ) from None
    if not shape or any(d < 1 for d in shape):
        raise ValueError(f"input_shape must be a tuple of positive ints, got {input_shape!r}.")
    return shape


def resolve_pixel_scale(pixel_scale, X):
    """Decide the factor that the model multiplies its inputs by.

    ``"auto"`` divides raw 8-bit pixels by 255: data whose values all lie in
    [0, 255] with at least one above 1. Data already in [0, 1], standardised
    data (negative values) and data beyond 255 pass unchanged, because
    dividing them by 255 would be a guess.

    Parameters
    ----------
    pixel_scale : "auto", float or None
        None means 1 (no scaling).
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    float
    """
    if pixel_scale is None:
        return 1.0
    if isinstance(pixel_scale, str):
        if pixel_scale != "auto":
            raise ValueError(
                f"pixel_scale must be 'auto', a positive float or None, got {pixel_scale!r}.")
        low, high = float(np.min(X)), float(np.max(X))
        looks_like_raw_pixels = low >= 0.0 and 1.0 < high <= MAX_PIXEL
        return 1.0 / MAX_PIXEL if looks_like_raw_pixels else 1.0
    if not isinstance(pixel_scale, numbers.Real) or not pixel_scale > 0:
        raise ValueError(
            f"pixel_scale must be 'auto', a positive float or None, got {pixel_scale!r}.")
    return float(pixel_scale)
