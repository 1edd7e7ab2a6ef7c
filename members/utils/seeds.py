"""Seeds: a scikit-learn ``random_state`` as one int, and Keras seeded for one fit."""

import contextlib
import numbers
import random

import numpy as np

#: Seeds handed to Keras and Optuna lie in [0, 2**31): what every backend accepts.
SEED_LIMIT = 2**31


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


@contextlib.contextmanager
def seeded(seed):
    """Seed Keras (Python, NumPy and backend generators), then restore the first two.

    Keras can only be seeded through global generators; restoring Python's
    and NumPy's afterwards keeps a member's fit from changing the random
    numbers the rest of the user's program draws.
    """
    if seed is None:
        yield
        return
    python_state, numpy_state = random.getstate(), np.random.get_state()
    import keras  # here, so that importing this module does not import TensorFlow

    keras.utils.set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
