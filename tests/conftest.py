"""Shared fixtures: tiny data so the suite stays fast on 2 CPU cores.

Plain helpers (tiny members, the command line, child processes) are in the
helpers package (tests/helpers/); tests import them from there, never from
this file.
"""

import pytest

# Importing helpers quietens Keras before TensorFlow is imported anywhere
# (also in every pytest-xdist worker, which loads this file first).
from helpers import make_tiny_images, running_eagerly, shuffled_split


@pytest.fixture(scope="session")
def tiny_images():
    """200 random 8x8 grey 'images' in 4 classes, learnable: class = brightest quadrant."""
    return make_tiny_images()


@pytest.fixture(scope="session")
def tiny_split(tiny_images):
    """The tiny images shuffled: 150 to fit on, and the 50 others with their labels."""
    return shuffled_split(*tiny_images, n_train=150, seed=1)


@pytest.fixture(autouse=True)
def eager_when_marked(request):
    """Tests marked ``eager`` run Keras's steps eagerly (see :func:`helpers.running_eagerly`)."""
    if request.node.get_closest_marker("eager") is None:
        yield
        return
    with running_eagerly():
        yield
