"""Argument checks, one definition each for ``members`` and ``ensemble``.

Messages follow scikit-learn's wording ("n_jobs must be an int >= 1, got
0."), so that a bad parameter reads the same whichever class it was given to.
"""

import numbers

import numpy as np


def is_int(value):
    """Whether ``value`` is an integer (NumPy's included), and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value, *, finite=True):
    """Whether ``value`` is a real number (not a bool), finite unless ``finite=False``."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    return not finite or bool(np.isfinite(value))


def check_int(value, name, *, minimum):
    """Raise a ValueError unless ``value`` is an int >= ``minimum``.

    Parameters
    ----------
    value : object
    name : str
        The parameter's name, for the message.
    minimum : int

    Returns
    -------
    int

    Raises
    ------
    ValueError
    """
    if not is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def check_real(value, name, *, low=None, high=None, low_open=False, high_open=False):
    """Raise a ValueError unless ``value`` is a finite number in the interval given.

    Parameters
    ----------
    value : object
    name : str
        The parameter's name, for the message.
    low, high : float or None, default=None
        Bounds; None leaves that side open to infinity.
    low_open, high_open : bool, default=False
        Whether the bound itself is excluded.

    Raises
    ------
    ValueError
    """
    ok = is_real(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        interval = f"{left}{low}, {'inf' if high is None else high}{right}"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}.")


def check_member_shapes(shapes):
    """Refuse a list of member probabilities that are not all 2-D of one shape.

    Parameters
    ----------
    shapes : list of tuple of int
        ``np.shape`` of each member's probabilities.

    Raises
    ------
    ValueError
        Naming the first member whose shape differs from member 0's.
    """
    for position, shape in enumerate(shapes):
        if len(shape) != 2 or shape != shapes[0]:
            raise ValueError(
                "each member's probabilities must be 2-D of one shape (n_samples, n_classes); "
                f"member 0 has shape {shapes[0]}, member {position} has shape {shape}")
