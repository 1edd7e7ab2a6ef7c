"""Argument checks and seeds, one definition each for ``members`` and ``ensemble``.

Messages follow scikit-learn's wording ("n_jobs must be an int >= 1, got
0."), so that a bad parameter reads the same whichever class it was given to.
"""

import numbers

import numpy as np

#: Seeds handed to Keras and Optuna lie in [0, 2**31): what every backend accepts.
SEED_LIMIT = 2**31


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


def seed_from(random_state):
    """One int seed in [0, 2**31) from a scikit-learn ``random_state``, or None.

    An int maps to itself (modulo 2**31), so that ``random_state=0`` means
    the same run everywhere; a ``RandomState`` is drawn from once, so that
    successive calls give different seeds, as scikit-learn's estimators do.

    Raises
    ------
    TypeError
        ``random_state`` is neither None, an int nor a ``numpy.random.RandomState``.
    """
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral):
        return int(random_state) % SEED_LIMIT
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(SEED_LIMIT - 1))
    raise TypeError(
        f"random_state must be None, an int or a numpy RandomState, got {random_state!r}."
    )
