"""Helpers shared by the tests: tiny members, child processes, the command line, predictions.

A plain package, imported as ``helpers`` (pyproject.toml puts tests/ on
``sys.path`` for pytest; child processes get it from :data:`CHILD_PROLOGUE`);
``helpers.tuning`` holds the small estimators the tuning tests search.
Fixtures live in conftest.py files, which pytest loads by itself and no test imports.
"""

import contextlib
import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

from ensemble import import_keras_quietly

# Before TensorFlow is imported anywhere: keep test output readable (also in
# child processes, which import this module first).
import_keras_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from members import (  # noqa: E402
    KerasMemberClassifier,
    PlainCNNClassifier,
    ResidualNetClassifier,
    SeparableCNNClassifier,
)


class TinyMLPBuilder:
    """A two-layer perceptron builder for KerasMemberClassifier tests.

    A class rather than a function so that its repr, and so the ids of the
    parametrised estimator checks, are the same in every pytest-xdist worker.
    """

    def __call__(self, input_shape, n_classes, *, units=16):
        inputs = keras.Input(input_shape)
        hidden = keras.layers.Flatten()(inputs)
        hidden = keras.layers.Dense(units, activation="relu")(hidden)
        outputs = keras.layers.Dense(n_classes, activation="softmax")(hidden)
        return keras.Model(inputs, outputs)

    def __repr__(self):
        return "TinyMLPBuilder()"


build_tiny_mlp = TinyMLPBuilder()


#: Training settings small enough for a few hundred samples in about a second.
#: No validation split: Keras spends most of a tiny epoch setting up data
#: iterators, and a validation pass doubles that.
TINY_TRAINING = dict(
    epochs=8, batch_size=32, learning_rate=0.05, validation_fraction=0.0, random_state=0
)


@contextlib.contextmanager
def running_eagerly():
    """Run Keras's train and predict steps eagerly (``tf.function`` not compiled) inside.

    For tests whose fits take a few steps each: tracing a step costs several
    times what the step does (a default member's sklearn checks ran 3.5x
    faster eagerly), whereas an eager step costs more than a compiled one,
    so fits of many steps stay compiled. The same layers and training loop
    run either way; the compiled path is what every other test exercises.
    """
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*run_functions_eagerly.*")
            warnings.filterwarnings("ignore", message=".*does not apply to tf.data.*")
            yield
    finally:
        tf.config.run_functions_eagerly(False)


def tiny_members():
    """One tiny instance of each member class (fresh objects on every call)."""
    return [
        KerasMemberClassifier(build_tiny_mlp, **TINY_TRAINING),
        PlainCNNClassifier(filters=(4,), dense_units=8, **TINY_TRAINING),
        SeparableCNNClassifier(stem_filters=4, filters=(8,), convs_per_stage=1, **TINY_TRAINING),
        ResidualNetClassifier(stem_filters=4, filters=(4,), **TINY_TRAINING),
    ]


def tiny_combiners():
    """Both combiners over two tiny Keras members."""
    from ensemble import StackingEnsemble, WeightedAverageEnsemble

    # Two perceptrons of different widths: the checks fit each combiner
    # hundreds of times, and a CNN member would double the suite's time
    # (the CNN members pass the same checks on their own).
    def two_members():
        return [
            ("wide", KerasMemberClassifier(build_tiny_mlp, **TINY_TRAINING)),
            ("narrow", KerasMemberClassifier(build_tiny_mlp, build_params={"units": 8},
                                             **TINY_TRAINING)),
        ]

    # A 30 % holdout: the checks fit on as few as 10 samples of 2 classes, and
    # a stratified blending set needs one row of every class.
    return [
        WeightedAverageEnsemble(two_members(), holdout=0.3, random_state=0),
        StackingEnsemble(two_members(), holdout=0.3, random_state=0),
    ]


def make_tiny_images():
    """The data of the ``tiny_images`` fixture (also for child processes)."""
    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(4), 50)
    X = rng.randint(0, 100, size=(200, 8, 8, 1))
    for label, (row, col) in enumerate([(0, 0), (0, 4), (4, 0), (4, 4)]):
        X[y == label, row:row + 4, col:col + 4, 0] += 150
    return X.astype("uint8"), y


def shuffled_split(X, y, n_train, seed):
    """``X_train, y_train, X_rest, y_rest`` of the shuffled rows (tiny images come sorted)."""
    order = np.random.RandomState(seed).permutation(len(y))
    X, y = X[order], y[order]
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def tiny_plain_and_separable(plain_tta="flip", separable_tta="auto"):
    """``[(name, member)]``: a tiny plain and a tiny separable CNN, for combiner tests."""
    return [("plain", tiny_plain(tta=plain_tta)),
            ("separable", SeparableCNNClassifier(stem_filters=4, filters=(8,), convs_per_stage=1,
                                                 tta=separable_tta,
                                                 **dict(TINY_TRAINING, epochs=3)))]


def tiny_plain(**params):
    """A tiny PlainCNNClassifier, 3 epochs unless ``params`` say otherwise."""
    settings = dict(TINY_TRAINING, epochs=3, filters=(4,), dense_units=8)
    settings.update(params)
    return PlainCNNClassifier(**settings)


# ------------------------------------------------------------- crash tests
#: The tests/ folder, which holds this package.
TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: First lines of a child-process script: quiet Keras, and the helpers of this package.
CHILD_PROLOGUE = f"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, {TESTS_DIR!r})
from helpers import *
"""


class EpochLog(keras.callbacks.Callback):
    """Append "begin N" / "end N" to a file: which epochs a fit really ran, across processes."""

    def __init__(self, path, seconds_per_batch=0.0):
        super().__init__()
        self.path = str(path)
        self.seconds_per_batch = seconds_per_batch

    def _write(self, line):
        with open(self.path, "a") as file:
            file.write(line + "\n")

    def on_epoch_begin(self, epoch, logs=None):
        self._write(f"begin {epoch}")

    def on_epoch_end(self, epoch, logs=None):
        self._write(f"end {epoch}")

    def on_train_batch_end(self, batch, logs=None):
        # Slows training down so that a kill lands in the middle of it.
        time.sleep(self.seconds_per_batch)


def epochs_begun(path):
    """The epochs an :class:`EpochLog` saw begin (empty when the file is missing)."""
    if not os.path.exists(path):
        return []
    with open(path) as file:
        return [int(line.split()[1]) for line in file if line.startswith("begin")]


def kill_when(script, ready, timeout=120):
    """Run ``script`` in a child Python; SIGKILL it as soon as ``ready()`` holds.

    Returns
    -------
    str
        The child's stderr, for assertion messages.
    """
    child = subprocess.Popen([sys.executable, "-c", CHILD_PROLOGUE + textwrap.dedent(script)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            if child.poll() is not None:
                raise AssertionError("the child ended before it could be killed:\n"
                                     f"{child.stderr.read()}")
            if time.monotonic() > deadline:
                raise AssertionError("the child never reached the point where it is killed")
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    return child.stderr.read()


# ------------------------------------------------------------- command line
CLI = [sys.executable, "-m", "ensemble"]
#: ``fit`` options that train in seconds: 300 sample images, one epoch, seeded.
QUICK_TRAINING = ["--n-train", "300", "--epochs", "1", "--seed", "0"]


def read_csv(path):
    """A CSV file the command line wrote: its header and its rows, as strings."""
    import csv

    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    return rows[0], rows[1:]


def run_cli(*args, cwd, check=True, process=False):
    """Run ``keras-ensembles ARGS`` in ``cwd``; a :class:`subprocess.CompletedProcess`.

    By default through :func:`ensemble.cli.main` in this process, which spares
    a TensorFlow start-up (several seconds) per command; ``process=True`` runs
    it as users do, in a fresh process with TensorFlow not quietened for it,
    for what only a process shows (its exit status from the shell, what
    TensorFlow's C++ runtime writes to descriptor 2).
    """
    args = [str(arg) for arg in args]
    result = _run_cli_in_a_process(args, cwd) if process else _run_cli_here(args, cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\nstdout:\n{result.stdout}\n"
                             f"stderr:\n{result.stderr}")
    return result


def _run_cli_in_a_process(args, cwd):
    env = dict(os.environ)
    env.pop("KERAS_ENSEMBLES_DEBUG", None)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the CLI must quieten TensorFlow by itself
    return subprocess.run(CLI + args, cwd=cwd, capture_output=True, text=True, timeout=900,
                          env=env, check=False)


def _run_cli_here(args, cwd):
    from ensemble.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(stdout), \
            contextlib.redirect_stderr(stderr):
        returncode = main(args)
    return subprocess.CompletedProcess(CLI + args, returncode, stdout.getvalue(),
                                       stderr.getvalue())


def assert_one_line_error(result, *fragments, status=None):
    """The command failed (with ``status`` when given) in one stderr line holding ``fragments``."""
    assert result.returncode != 0 if status is None else result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("keras-ensembles")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ------------------------------------------------------------- prediction files
def synthetic_predictions(n_oof=300, n_test=100, n_classes=4, strengths=(2.0, 1.5, 1.0), seed=0):
    """Probabilities of models that know the true class to different degrees.

    Model ``m`` puts ``strengths[m]`` (in logits) on the true class plus
    Gaussian noise of its own, so the models are right often, differently
    sure, and not identical: what blending needs.

    Returns
    -------
    y : ndarray of shape (n_oof,)
    oof : dict of str to ndarray of shape (n_oof, n_classes)
    test : dict of str to ndarray of shape (n_test, n_classes)
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n_oof + n_test)

    def model(strength):
        logits = strength * np.eye(n_classes)[y] + rng.normal(size=(len(y), n_classes))
        proba = np.exp(logits - logits.max(axis=1, keepdims=True))
        return proba / proba.sum(axis=1, keepdims=True)

    probas = {f"model{m}": model(strength) for m, strength in enumerate(strengths)}
    return (y[:n_oof], {name: p[:n_oof] for name, p in probas.items()},
            {name: p[n_oof:] for name, p in probas.items()})


def random_set(n, seed):
    """``n`` random 28x28 grey images (uint8) and labels 0..9 in turn, as Fashion-MNIST's."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    y = (np.arange(n) % 10).astype(np.uint8)
    return X, y
