"""Whether images are large enough for a network: every downsampling needs pixels to pool.

The built-in networks pool with ``padding="same"`` and stride with ``same``
convolutions, so no image is ever pooled to zero pixels: they adapt to any
size, and a map that is already one pixel wide passes a pooling step
unchanged. But a network whose later stages only ever see 1x1 maps was
built for larger images than it is given: its depth buys nothing, and a
user's own network with ``valid`` padding would fail there. So images
(arrays of shape ``(n, height, width, channels)`` or an explicit
``input_shape``) are refused when some downsampling step would meet a map
already one pixel wide along an axis the image has more than one pixel on:
the smallest accepted side is ``2 ** (k - 1) + 1`` for a network that halves
its input ``k`` times (3 pixels for two halvings, 5 for three). Flat rows
whose shape a member only guesses (one pixel high, or a square of a few
features, as scikit-learn's estimator checks pass) are not images and are
not checked.

Imports Keras only inside the functions.
"""

from members.utils.layers import leaf_layers


def downsampling_steps(network):
    """The layers that halve (or more) the spatial size, with the size each receives.

    Pooling layers and convolutions with a stride above one, in graph order;
    layers that read the same tensor (a residual block's strided convolution
    and its strided shortcut) are one step.

    Returns
    -------
    list of (layer, (height, width), (row stride, column stride))
    """
    steps, seen = [], set()
    for layer in leaf_layers(network):
        strides = getattr(layer, "strides", None)
        if not isinstance(strides, (tuple, list)) or len(strides) != 2 or max(strides) < 2:
            continue
        try:
            shape = tuple(layer.input.shape)
        except (AttributeError, ValueError):  # a layer called more than once: no single input
            continue
        if len(shape) != 4 or id(layer.input) in seen:
            continue
        seen.add(id(layer.input))
        steps.append((layer, (shape[1], shape[2]), tuple(strides)))
    return steps


def check_downsampling(network, image_shape, member_name, hint):
    """Refuse images too small for ``network``; see the module's documentation.

    Parameters
    ----------
    network : keras.Model
        Built for ``image_shape``.
    image_shape : tuple of int
        ``(height, width, channels)``.
    member_name : str
        Who refuses, for the message.
    hint : str
        How to make the network downsample less (e.g. a shorter ``filters``).

    Raises
    ------
    ValueError
    """
    if len(image_shape) != 3:
        return
    height, width = image_shape[:2]
    steps = downsampling_steps(network)
    for number, (layer, (rows, columns), (row_stride, column_stride)) in enumerate(steps, 1):
        squeezed = ((height > 1 and row_stride > 1 and rows == 1)
                    or (width > 1 and column_stride > 1 and columns == 1))
        if squeezed:
            smallest = 2 ** (len(steps) - 1) + 1
            raise ValueError(
                f"{member_name} can't use {height}x{width} images: it downsamples them "
                f"{len(steps)} times, and at step {number} (layer {layer.name!r}) the map is "
                f"down to {rows}x{columns} pixels, with nothing left to pool. Give it images of "
                f"at least {smallest}x{smallest} pixels (resize them: image_size=, command line "
                f"--image-size) or {hint}."
            )


def downsampling_hint(params):
    """What to change in a member whose network downsamples too often, from its parameters."""
    filters = params.get("filters")
    changes = []
    if (params.get("stem_strides") or 1) > 1:
        changes.append("stem_strides=1")
    if isinstance(filters, (tuple, list)) and len(filters) > 1:
        changes.append(f"a shorter filters tuple, e.g. filters={tuple(filters[:-1])!r}")
    if changes:
        return f"a network that downsamples less ({', or '.join(changes)}), or another member"
    if "build_fn" in params:
        return "a build_fn with fewer pooling or strided layers"
    return "another member with fewer downsampling stages"


def check_image_size(member, image_shape):
    """Refuse, before any training, images too small for ``member``'s network.

    Builds the network (not the training graph) for ``image_shape`` and
    runs the check ``fit`` runs on images.

    Parameters
    ----------
    member : member classifier
        Any of the classes in :mod:`members`; unfitted is fine.
    image_shape : tuple of int
        ``(height, width, channels)``.

    Raises
    ------
    ValueError
        Naming the member, the size, the smallest size it takes and what to
        change.

    Examples
    --------
    >>> from members import PlainCNNClassifier, check_image_size
    >>> check_image_size(PlainCNNClassifier(), (28, 28, 1))  # large enough: no error
    >>> check_image_size(PlainCNNClassifier(), (4, 4, 1))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: PlainCNNClassifier...
    """
    build_fn, build_params = member._builder()
    try:
        network = build_fn(tuple(image_shape), 2, **build_params)
    except ValueError as error:  # e.g. Keras: "Computed output size would be zero or negative"
        reason = next((line for line in str(error).splitlines() if "size" in line),
                      str(error).splitlines()[0] if str(error) else type(error).__name__)
        raise ValueError(
            f"{type(member).__name__}'s network can't be built for "
            f"{'x'.join(map(str, image_shape))} images ({_plain_text(reason)}): too small for "
            f"its layers? Resize them (image_size=, command line --image-size) or use "
            f"{downsampling_hint(member.get_params())}."
        ) from None
    check_downsampling(network, tuple(image_shape), type(member).__name__,
                       downsampling_hint(member.get_params()))


def _plain_text(text):
    """Keras's message on one line, without its terminal colour codes."""
    import re

    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split())
