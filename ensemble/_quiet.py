"""Import Keras without TensorFlow's start-up chatter on the terminal.

TensorFlow's C++ runtime writes several lines to file descriptor 2 while it
loads (oneDNN and CUDA notices, CPU feature flags), some of them before its
logging is initialised and so regardless of ``TF_CPP_MIN_LOG_LEVEL``. The
command line and the demo import Keras here, with descriptor 2 pointed at
``/dev/null`` for the duration of the import only; Python-level errors of the
import still surface as exceptions.
"""

import contextlib
import os
import sys


def import_keras_quietly():
    """Import Keras (and TensorFlow), hiding what the C++ runtime prints while loading.

    Does nothing when Keras is already imported, and hides nothing when the
    user asked for TensorFlow's logs (``TF_CPP_MIN_LOG_LEVEL`` set to ``0``).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "keras" in sys.modules or os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0":
        import keras  # noqa: F401
        return
    with _stderr_descriptor_to_devnull():
        import keras  # noqa: F401


@contextlib.contextmanager
def _stderr_descriptor_to_devnull():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
