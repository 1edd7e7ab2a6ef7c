"""Data augmentation: random transforms while training, fixed ones at prediction (TTA).

Training-time augmentation is a stack of Keras preprocessing layers placed in
front of the network inside the member's model. Keras runs them only when
``training=True``, so a fitted member predicts deterministically, the saved
``.keras`` file holds them (no Lambda layer: it loads in safe mode), and the
saved model still takes raw pixels.

Test-time augmentation (TTA), the fixed transforms averaged at prediction,
is in :mod:`members.utils.tta`.

The defaults are safe for images in general: small shifts keep the meaning
of digits, text and photographs alike, whereas a horizontal flip turns a
"b" into a "d". Flips are therefore switched on explicitly, for data whose
classes are mirror-symmetric (clothing, most natural images).
"""

import numbers

import numpy as np

from members.utils.tta import TTA_CHOICES, is_image_shape


def check_augmentation_params(random_shift, horizontal_flip, augmentation, tta):
    """Clear errors for bad augmentation settings, before any network is built."""
    ok = isinstance(random_shift, numbers.Real) and not isinstance(random_shift, bool)
    if not (ok and np.isfinite(random_shift) and 0 <= random_shift < 0.5):
        raise ValueError(
            f"random_shift must be a fraction of the image size in [0, 0.5), got "
            f"{random_shift!r}."
        )
    if not isinstance(horizontal_flip, (bool, np.bool_)):
        raise TypeError(f"horizontal_flip must be True or False, got {horizontal_flip!r}.")
    user_layers(augmentation)
    if tta is not None and tta not in TTA_CHOICES:
        raise ValueError(f"tta must be one of {TTA_CHOICES} or None, got {tta!r}.")


def user_layers(augmentation):
    """The user's own augmentation layers as a list (validated), or an empty list."""
    if augmentation is None:
        return []
    import keras

    layers = [augmentation] if isinstance(augmentation, keras.layers.Layer) else augmentation
    try:
        layers = list(layers)
    except TypeError:
        raise TypeError(
            f"augmentation must be a list of keras.layers.Layer or None, got {augmentation!r}."
        ) from None
    for layer in layers:
        if not isinstance(layer, keras.layers.Layer):
            raise TypeError(
                "augmentation must be a list of keras.layers.Layer or None, got an element "
                f"of type {type(layer).__name__}."
            )
    return layers


def augmentation_layers(input_shape, *, random_shift, horizontal_flip, augmentation, seed):
    """The training-time augmentation layers for images of ``input_shape``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(height, width, channels)``; anything else gets no built-in layer
        (a flat feature vector has no pixels to shift), only the user's.
    random_shift : float
        Largest shift, as a fraction of the height and width; 0 for none.
        Shifts move whole pixels (nearest-neighbour sampling, no blur) and
        fill the uncovered border with zeros, the background of most
        single-object image sets.
    horizontal_flip : bool
        Mirror half of the images left to right.
    augmentation : list of keras.layers.Layer or None
        The user's own layers, applied after the built-in ones; deep-copied
        so that fits never share layer state.
    seed : int or None
        Seeds the built-in layers' generators, so that the same
        ``random_state`` trains the same network.

    Returns
    -------
    list of keras.layers.Layer
    """
    import copy

    import keras

    layers = []
    image = is_image_shape(input_shape)
    # Rows one pixel high (flat data read as an image) have nothing to shift vertically.
    shifts_vertically = image and input_shape[0] > 1
    if image and random_shift > 0:
        layers.append(keras.layers.RandomTranslation(
            height_factor=random_shift if shifts_vertically else 0.0,
            width_factor=random_shift, fill_mode="constant", fill_value=0.0,
            interpolation="nearest", seed=_derived(seed, 1), name="augment_shift",
        ))
    if image and horizontal_flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=_derived(seed, 2),
                                              name="augment_flip"))
    return layers + [copy.deepcopy(layer) for layer in user_layers(augmentation)]


def _derived(seed, offset):
    return None if seed is None else (seed + offset) % (2**31)


def apply_in_batches(layers, images, batch_size=1024):
    """The layers in training mode (random transforms on) over float32 images, batch by batch."""
    import keras

    out = np.empty_like(images)
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size]
        for layer in layers:
            x = layer(x, training=True)
        out[start:start + batch_size] = keras.ops.convert_to_numpy(x)
    return out
