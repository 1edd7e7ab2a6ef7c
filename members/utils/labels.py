"""Labels to column positions: the one mapping every combiner, metric and blend uses.

A dict on Python scalars rather than ``np.searchsorted``: searchsorted
silently returns positions when label types differ (ints against strings)
or a label is missing, where a user needs an error that names the label.
"""

import numpy as np


def as_classes(classes):
    """``classes`` as a 1-D array, or a ValueError."""
    classes = np.asarray(classes)
    if classes.ndim != 1:
        raise ValueError(f"classes must be 1-D of shape (n_classes,); got shape {classes.shape}")
    return classes


def label_indices(y, classes, *, unknown_message=None):
    """Map labels to their positions in ``classes``.


    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels.
    classes : array-like of shape (n_classes,)
        Distinct labels, in column order.
    unknown_message : callable or None, default=None
        Given the list of labels absent from ``classes``, returns the error
        message; None gives one that names them and the classes.

    Returns
    -------
    ndarray of shape (n_samples,), dtype intp
        ``classes[result] == y``.

    Raises
    ------
    ValueError
        If ``y`` or ``classes`` is not 1-D, ``classes`` has duplicates, or
        ``y`` holds a label not in ``classes`` (the message names it).
    """
    classes = as_classes(classes)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D of shape (n_samples,); got shape {y.shape}")
    # A dict on Python scalars rather than np.searchsorted: searchsorted
    # silently returns positions when label types differ (ints vs strings).
    lookup = {}
    for position, label in enumerate(classes.tolist()):
        if label in lookup:
            raise ValueError(f"classes contains the label {label!r} more than once")
        lookup[label] = position
    if y.size == 0:
        return np.zeros(0, dtype=np.intp)
    # Look up each distinct label once; the per-sample work stays vectorised.
    uniques, inverse = np.unique(y, return_inverse=True)
    unique_labels = uniques.tolist()
    missing = [label for label in unique_labels if label not in lookup]
    if missing and unknown_message is not None:
        raise ValueError(unknown_message(missing))
    if missing:
        shown = ", ".join(repr(label) for label in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise ValueError(
            f"y contains label(s) not in classes: {shown}{more}; "
            f"classes are {_short_repr(classes)}"
        )
    positions = np.array([lookup[label] for label in unique_labels], dtype=np.intp)
    return positions[inverse.reshape(-1)]


def _short_repr(values, limit=10):
    values = list(values.tolist())
    if len(values) <= limit:
        return repr(values)
    return repr(values[:limit])[:-1] + f", ... ({len(values)} in all)]"
