"""What every reader returns, and the checks the readers share.

Every reader turns its source into the same thing: ``uint8`` images of shape
``(n, height, width, channels)`` (channels last, as Keras convolutions expect),
and, where the source has them, labels, the names of the classes and an id per
image. Nothing after the readers (members, command line, archives, plots)
assumes a size, a channel count or a set of classes: they take them from
the :class:`Dataset`.
"""

import math
from dataclasses import dataclass

import numpy as np

from members.utils.checks import is_int

#: Colour modes of :func:`~ensemble.datasets.load_image_folder`.
COLOR_MODES = ("auto", "grayscale", "rgb")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images with their labels, class names and ids, as one source gives them.

    A ``Dataset`` unpacks (and indexes) like the pair ``(X, y)``, so
    ``X, y = load_csv("train.csv")`` works as it always did.

    Parameters
    ----------
    X : ndarray of uint8, shape (n_images, height, width, channels)
        Pixels 0..255, channels last: 1 for grey images, 3 for RGB.
    y : ndarray of shape (n_images,) or None, default=None
        Labels as the source spells them: the class folder names of an image
        folder (strings), the label column of a CSV file, the ``y`` array of
        an npz file, 0..9 for Fashion-MNIST. ``None`` for unlabelled images.
    classes : ndarray of shape (n_classes,) or None, default=None
        Every class the source names, sorted as scikit-learn sorts
        ``classes_``: each class folder (even one a split lacks), 0..9 for
        Fashion-MNIST, ``0..k-1`` for an npz file with ``class_names``, or
        the distinct labels. ``None`` when the source names no classes.
    class_names : tuple of str or None, default=None
        The display name of each entry of ``classes``: the folder names
        themselves, Fashion-MNIST's clothing names, an npz file's
        ``class_names``, else the labels written as text.
    ids : ndarray of shape (n_images,) or None, default=None
        One id per image where the source has them: the path of each file
        relative to an image folder (``"cat/001.png"``), a CSV file's id
        column, an npz file's ``ids`` array. ``None`` otherwise (the command
        line then numbers the rows).
    source : str, default=""
        Where the images came from, for messages.

    See Also
    --------
    ensemble.datasets.load_dataset : Load one from a source named by a string.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.datasets import Dataset
    >>> data = Dataset(X=np.zeros((3, 8, 8, 1), dtype=np.uint8), y=np.array([0, 1, 1]),
    ...                classes=np.array([0, 1]), class_names=("shirt", "shoe"))
    >>> X, y = data
    >>> data.image_shape, data.n_images
    ((8, 8, 1), 3)
    >>> data.names_of(y)
    ['shirt', 'shoe', 'shoe']
    >>> data.take([0]).y
    array([0])
    """

    X: np.ndarray
    y: np.ndarray | None = None
    classes: np.ndarray | None = None
    class_names: tuple | None = None
    ids: np.ndarray | None = None
    source: str = ""

    def __iter__(self):
        return iter((self.X, self.y))

    def __getitem__(self, index):
        return (self.X, self.y)[index]

    @property
    def image_shape(self):
        """``(height, width, channels)`` of every image."""
        return tuple(int(size) for size in self.X.shape[1:])

    @property
    def n_images(self):
        """Number of images."""
        return int(len(self.X))

    def names_of(self, labels):
        """Display names of ``labels`` (e.g. a fitted model's ``classes_``).

        Parameters
        ----------
        labels : array-like of shape (n_labels,)

        Returns
        -------
        list of str
            The name this dataset gives each label, or the label written as
            text where it gives none.
        """
        names = {}
        if self.classes is not None and self.class_names is not None:
            names = {_key(label): name
                     for label, name in zip(self.classes, self.class_names, strict=True)}
        return [names.get(_key(label), str(_key(label))) for label in labels]

    def take(self, rows):
        """The images at ``rows``, with their labels and ids.

        Parameters
        ----------
        rows : array-like of int or bool
            An index array or a mask, as NumPy indexes ``X``.

        Returns
        -------
        Dataset
            Those rows; classes, class names and source unchanged.
        """
        rows = np.asarray(rows)
        return Dataset(
            X=self.X[rows], y=None if self.y is None else self.y[rows], classes=self.classes,
            class_names=self.class_names, ids=None if self.ids is None else self.ids[rows],
            source=self.source,
        )


def _key(label):
    """A hashable plain-Python value for a label (NumPy scalars become ints or strs)."""
    return label.item() if hasattr(label, "item") else label


def labelled(X, y, source, *, ids=None, classes=None, class_names=None):
    """A :class:`Dataset` whose classes default to the distinct labels, named by themselves."""
    if classes is None and y is not None:
        classes = np.unique(y)
    if class_names is None and classes is not None:
        class_names = tuple(str(_key(label)) for label in classes)
    return Dataset(X=X, y=y, classes=classes, class_names=class_names, ids=ids,
                   source=str(source))


# ---------------------------------------------------------------------------
# Image sizes and shapes given by the caller
# ---------------------------------------------------------------------------


def check_image_size(image_size):
    """``image_size`` as ``(height, width)``: an int (square) or a pair of positive ints."""
    if image_size is None:
        return None
    if is_int(image_size):
        image_size = (image_size, image_size)
    size = _positive_ints(image_size, "image_size")
    if size is None or len(size) != 2:
        raise ValueError(
            f"image_size must be an int or a (height, width) pair of positive ints; "
            f"got {image_size!r}"
        )
    return size


def check_image_shape(image_shape):
    """``image_shape`` as ``(height, width, channels)``; a ``(height, width)`` pair means grey."""
    if image_shape is None:
        return None
    shape = _positive_ints(image_shape, "image_shape")
    if shape is None or len(shape) not in (2, 3):
        raise ValueError(
            "image_shape must be (height, width) or (height, width, channels) of positive "
            f"ints; got {image_shape!r}"
        )
    return shape if len(shape) == 3 else shape + (1,)


def _positive_ints(values, name):
    try:
        items = tuple(values)
    except TypeError:
        return None
    if not all(is_int(v) and v >= 1 for v in items):
        return None
    return tuple(int(v) for v in items)


def format_shape(shape):
    """``(32, 32, 3)`` -> ``"32x32x3"``, the way the command line writes shapes.

    Parameters
    ----------
    shape : tuple of int
        ``(height, width)`` or ``(height, width, channels)``.

    Returns
    -------
    str
        The sizes joined by ``x``.

    Examples
    --------
    >>> from ensemble.datasets import format_shape
    >>> format_shape((32, 32, 3))
    '32x32x3'
    """
    return "x".join(str(size) for size in shape)


def shape_from_pixels(n_pixels, image_shape, source):
    """The image shape of rows of ``n_pixels`` values: ``image_shape``, or a square grey image.

    Raises
    ------
    ValueError
        If ``image_shape`` holds another number of pixels, or none is given
        and ``n_pixels`` is not a perfect square. The message names ``source``.
    """
    if image_shape is not None:
        if math.prod(image_shape) != n_pixels:
            raise ValueError(
                f"{source} has {n_pixels} pixel values per image, but the image shape "
                f"{format_shape(image_shape)} needs {math.prod(image_shape)}"
            )
        return tuple(image_shape)
    side = math.isqrt(n_pixels)
    if side * side != n_pixels:
        raise ValueError(
            f"{source} has {n_pixels} pixel values per image, which is not a square grey "
            "image; give the image shape (image_shape=(height, width, channels), command "
            "line --image-shape HxWxC)"
        )
    return (side, side, 1)


# ---------------------------------------------------------------------------
# Arrays given by files
# ---------------------------------------------------------------------------


def as_images(X, what, image_shape=None):
    """``X`` as uint8 ``(n, height, width, channels)``, refusing values that are not pixels.

    Parameters
    ----------
    X : array-like of shape (n, n_pixels), (n, height, width) or (n, height, width, channels)
        Flat rows are images of ``image_shape`` when given, else square grey
        images; 3-d arrays are grey images.
    what : str
        What ``X`` is, for messages (it names the file).
    image_shape : tuple of int or None
        ``(height, width, channels)`` the images must have.

    Non-integer or out-of-range values are refused rather than rounded or
    clipped: they mean the data were scaled or are not images at all.
    """
    X = np.asarray(X)
    if X.dtype.kind not in "uif":
        raise ValueError(f"{what} must hold numbers; got dtype {X.dtype}")
    if X.ndim == 2:
        shape = shape_from_pixels(X.shape[1], image_shape, what)
    elif X.ndim in (3, 4):
        shape = tuple(int(size) for size in X.shape[1:]) + ((1,) if X.ndim == 3 else ())
        if image_shape is not None and shape != tuple(image_shape):
            raise ValueError(
                f"{what} holds images of shape {format_shape(shape)}, not the "
                f"{format_shape(image_shape)} asked for"
            )
    else:
        raise ValueError(
            f"{what} must have shape (n, pixels), (n, height, width) or "
            f"(n, height, width, channels); got {X.shape}"
        )
    if 0 in shape:
        raise ValueError(f"{what} holds images of shape {shape}, which have no pixels")
    if X.dtype != np.uint8:
        check_integral_range(X, 0, 255, what, "pixel values")
    return X.astype(np.uint8, copy=False).reshape((len(X),) + shape)


def as_labels(y, what, n_images):
    """``y`` as a label array: integers (int64), or strings; one per image.

    Integral floats (``3.0``) become integers; other floats, NaN, complex
    numbers and objects that are not strings are refused.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{what} must be 1-dimensional; got shape {y.shape}")
    if len(y) != n_images:
        raise ValueError(f"{what} holds {len(y)} labels for {n_images} images")
    if y.dtype.kind in "iu":
        return y
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            index = int(np.argmax(bad))
            raise ValueError(
                f"{what}: labels must be integers or strings; found {y[index].item()!r} at "
                f"index {index}"
            )
        return y.astype(np.int64)
    if y.dtype.kind in "US":
        return y.astype(str)
    if y.dtype.kind == "O" and all(isinstance(label, str) for label in y.tolist()):
        return y.astype(str)
    raise ValueError(f"{what}: labels must be integers or strings; got dtype {y.dtype}")


def check_integral_range(a, low, high, what, noun):
    """Refuse values of ``a`` that are not integers in ``low..high``, saying where the first is."""
    bad = (a < low) | (a > high)
    if a.dtype.kind == "f":
        bad |= ~np.isfinite(a) | (a != np.round(a))
    if bad.any():
        index = np.unravel_index(np.argmax(bad), a.shape)
        hint = ""
        if a.dtype.kind == "f" and noun == "pixel values" and np.nanmax(a) <= 1:
            hint = " (images scaled to 0..1? multiply by 255 first)"
        raise ValueError(
            f"{what}: {noun} must be integers in {low}..{high}; found "
            f"{a[index].item()!r} at index {tuple(int(i) for i in index)}{hint}"
        )


def as_class_names(names, what, y):
    """An npz file's ``class_names``: label ``k`` (an integer) is named ``names[k]``.

    Returns
    -------
    classes : ndarray of int64, shape (n_classes,)
    class_names : tuple of str
    """
    names = np.asarray(names)
    if names.ndim != 1 or names.dtype.kind not in "US" or len(names) == 0:
        raise ValueError(f"{what} must be a 1-d array of strings; got {names.dtype} "
                         f"of shape {names.shape}")
    names = tuple(str(name) for name in names)
    if len(set(names)) != len(names):
        raise ValueError(f"{what} names a class twice")
    if y is not None:
        if y.dtype.kind not in "iu":
            raise ValueError(
                f"{what} names integer labels 0..{len(names) - 1}, but the labels are "
                "strings, which name themselves; leave class_names out"
            )
        outside = (y < 0) | (y >= len(names))
        if outside.any():
            raise ValueError(
                f"{what} names labels 0..{len(names) - 1}, but the labels hold "
                f"{y[np.argmax(outside)].item()}"
            )
    return np.arange(len(names)), names
