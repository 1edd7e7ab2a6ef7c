"""Import Keras without TensorFlow's start-up chatter on the terminal.

TensorFlow's C++ runtime writes several lines to file descriptor 2 while it
loads (oneDNN and CUDA notices, CPU feature flags), some of them before its
logging is initialised and so regardless of ``TF_CPP_MIN_LOG_LEVEL``. The
command line, the demo, the notebooks and the member workers import Keras
here, with descriptor 2 pointed at a temporary file for the duration of the
import only. If the import fails, what was written there is replayed on
stderr before the error propagates, so nothing needed for a diagnosis is lost.
"""

import contextlib
import importlib
import logging
import os
import sys
import tempfile


def import_keras_quietly():
    """Import Keras (and TensorFlow), hiding what the C++ runtime prints while loading.

    Does nothing when Keras is already imported. ``TF_CPP_MIN_LOG_LEVEL``
    is set to ``"3"`` when unset: on a machine without a GPU, TensorFlow logs
    a failed CUDA initialisation as an *error* on first use, which would
    otherwise greet every user of the command line. Set it yourself to see
    more (``"2"``: errors; ``"0"``: everything, including the start-up lines,
    which are hidden at any other level). At levels 2 and 3 TensorFlow's
    Python logger is set to errors only, too. Python exceptions are never
    hidden.

    Examples
    --------
    Call it before anything imports Keras (as the command line does):

    >>> from ensemble import import_keras_quietly
    >>> import_keras_quietly()
    >>> import keras
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "keras" in sys.modules:
        return
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0":
        importlib.import_module("keras")
        return
    with _stderr_descriptor_captured() as captured:
        try:
            importlib.import_module("keras")
        except BaseException:
            captured.failed = True
            raise
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] in ("2", "3"):
        # TensorFlow's Python logger ignores TF_CPP_MIN_LOG_LEVEL; at the quiet
        # levels its warnings (e.g. "tf.function retracing", which every fresh
        # member triggers) would still reach the terminal mid-progress-bar.
        logging.getLogger("tensorflow").setLevel(logging.ERROR)


@contextlib.contextmanager
def _stderr_descriptor_captured():
    """Point descriptor 2 at a temporary file; replay it on stderr if ``failed`` gets set."""

    class Capture:
        failed = False

    capture = Capture()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield capture
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if capture.failed:
                sink.seek(0)
                sys.stderr.write(sink.read().decode(errors="replace"))
                sys.stderr.flush()
