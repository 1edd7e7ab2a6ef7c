"""Test-time augmentation: which fixed transforms a member averages, and applying one.

TTA runs on NumPy batches inside the prediction loop
(:func:`members.utils.prediction.predict_in_batches`), so that every caller
of ``predict_proba`` -- a combiner learning its weights included -- sees the
same averaged probabilities. The training-time augmentation layers live in
``members._augment``.
"""

import numpy as np

#: Names accepted by ``tta``; ``"auto"`` means "flip" when the member was
#: trained with horizontal flips, else no TTA.
TTA_CHOICES = ("auto", "none", "flip", "shift", "flip+shift")


def is_image_shape(input_shape):
    """Whether the network sees ``(height, width, channels)`` images."""
    return len(input_shape) == 3


def resolve_tta(tta, horizontal_flip, input_shape):
    """The TTA transform names a fitted member predicts with.

    Parameters
    ----------
    tta : str or None
        One of :data:`TTA_CHOICES` or None (same as "none").
    horizontal_flip : bool
        Whether the member trained on mirrored images.
    input_shape : tuple of int

    Returns
    -------
    tuple of str
        Transform names, the identity first; ``("identity",)`` for no TTA.

    Raises
    ------
    ValueError
        If ``tta`` is unknown, or asks for TTA of inputs that are not images.
    """
    if tta is not None and tta not in TTA_CHOICES:
        raise ValueError(f"tta must be one of {TTA_CHOICES} or None, got {tta!r}.")
    if tta in (None, "none") or (tta == "auto" and not horizontal_flip):
        return ("identity",)
    if not is_image_shape(input_shape):
        if tta == "auto":
            return ("identity",)
        raise ValueError(
            f"tta={tta!r} needs images of shape (height, width, channels), but the network "
            f"sees inputs of shape {tuple(input_shape)}."
        )
    names = ["identity"]
    if tta in ("auto", "flip", "flip+shift"):
        names.append("flip")
    if tta in ("shift", "flip+shift"):
        names += ["shift_up", "shift_down", "shift_left", "shift_right"]
    return tuple(names)


def transform_batch(images, name):
    """Apply one TTA transform to a batch of images ``(n, H, W, C)``.

    Shifts move the image by one pixel and fill the uncovered border with
    zeros, as the training-time shifts do.
    """
    if name == "identity":
        return images
    if name == "flip":
        return images[:, :, ::-1, :]
    axis, step = _SHIFTS[name]
    shifted = np.zeros_like(images)
    source = [slice(None)] * 4
    target = [slice(None)] * 4
    source[axis] = slice(0, -1) if step > 0 else slice(1, None)
    target[axis] = slice(1, None) if step > 0 else slice(0, -1)
    shifted[tuple(target)] = images[tuple(source)]
    return shifted


_SHIFTS = {"shift_down": (1, 1), "shift_up": (1, -1), "shift_right": (2, 1), "shift_left": (2, -1)}
