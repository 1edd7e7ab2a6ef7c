"""Everything a member's ``fit`` needs besides the network: seeds, splits, callbacks.

Kept apart from the estimator so that ``fit`` reads as a short recipe.
"""

import contextlib
import copy
import json
import numbers
import random
import threading
from pathlib import Path

import keras
import numpy as np
from sklearn.model_selection import train_test_split

from ._files import atomic_write_json

OPTIMIZERS = ("adam", "rmsprop", "sgd")

#: File names inside ``checkpoint_dir``.
BEST_CHECKPOINT = "best.keras"
BACKUP_FOLDER = "backup"
HISTORY_FILE = "history.json"
RUN_FILE = "run.json"


# --------------------------------------------------------------------------- seeds
def seed_from(random_state):
    """An int seed for Keras from a scikit-learn ``random_state``, or None."""
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral):
        return int(random_state) % (2**31)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
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
    keras.utils.set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


# ------------------------------------------------------------------ Keras session
_session_lock = threading.Lock()
_active_fits = 0


@contextlib.contextmanager
def keras_session():
    """Clear Keras's global state before a fit, unless another fit is running.

    ``clear_session`` frees the graphs and name counters that otherwise grow
    with every model built in the process; clearing while another thread is
    training would pull the state from under it, hence the count.
    """
    global _active_fits
    with _session_lock:
        if _active_fits == 0:
            # free_memory=False: skip the full gc.collect() Keras would run on every
            # fit (0.15-0.5 s each, most of a small fit). Python's own collector
            # still frees the old graphs; only the global state is reset here.
            keras.backend.clear_session(free_memory=False)
        _active_fits += 1
    try:
        yield
    finally:
        with _session_lock:
            _active_fits -= 1


# ------------------------------------------------------------------------- splits
def validation_split(X, y, fraction, seed):
    """Carve a validation set from the member's own training data.

    Stratified when every class has at least two samples and the split can
    hold one of each; otherwise a plain shuffled split, because a tiny or
    lopsided training set should still train.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Encoded labels.
    fraction : float
        0 disables the split.
    seed : int or None

    Returns
    -------
    X_train, y_train : ndarray
    validation : tuple (X_val, y_val) or None
    """
    n_validation = int(np.ceil(fraction * len(y)))
    if fraction == 0 or n_validation < 1 or len(y) - n_validation < 1:
        return X, y, None
    counts = np.bincount(y)
    n_classes = np.count_nonzero(counts)
    can_stratify = counts[counts > 0].min() >= 2 and n_validation >= n_classes
    can_stratify = can_stratify and len(y) - n_validation >= n_classes
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=n_validation, random_state=seed, stratify=y if can_stratify else None
    )
    return X_train, y_train, (X_val, y_val)


# ---------------------------------------------------------------------- optimizer
def make_optimizer(name, learning_rate):
    """A Keras optimizer from its name; SGD gets Nesterov momentum 0.9."""
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9, nesterov=True)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}.")


# ---------------------------------------------------------------------- callbacks
class EpochLogWriter(keras.callbacks.Callback):
    """Record each finished epoch's logs, on disk when given a path.

    The file lets a resumed fit report the epochs of the interrupted one,
    and lets early stopping resume with the best value seen so far.
    """

    def __init__(self, path=None, previous=()):
        super().__init__()
        self.path = path
        self.previous = list(previous)

    def on_train_begin(self, logs=None):
        self.epochs = list(self.previous)

    def on_epoch_end(self, epoch, logs=None):
        entry = {"epoch": int(epoch)}
        entry.update({key: float(value) for key, value in (logs or {}).items()})
        # Read from the optimizer so that it is there with or without
        # ReduceLROnPlateau (which logs it only when it runs first).
        entry["learning_rate"] = float(
            keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
        )
        self.epochs.append(entry)
        if self.path is not None:
            atomic_write_json(self.path, self.epochs)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Early stopping that starts from the best value of an interrupted fit."""

    def __init__(self, *, previous_values=(), **kwargs):
        super().__init__(**kwargs)
        self.previous_values = list(previous_values)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.previous_values:
            best_index = int(np.argmin(self.previous_values))
            self.best = self.previous_values[best_index]
            self.wait = len(self.previous_values) - 1 - best_index


def history_as_lists(epoch_logs):
    """Per-epoch dicts -> ``{"epoch": [...], "loss": [...], ...}`` (Keras's layout)."""
    keys = []
    for entry in epoch_logs:
        keys += [key for key in entry if key not in keys]
    return {key: [entry.get(key, float("nan")) for entry in epoch_logs] for key in keys}


class CheckpointFolder:
    """The files of one member fit under ``checkpoint_dir``.

    ``best.keras`` (best epoch only), ``backup/`` (Keras's BackupAndRestore:
    the last finished epoch, deleted when a fit completes), ``history.json``
    (every finished epoch's logs) and ``run.json`` (what was being trained,
    so that a different configuration never resumes from, or silently
    overwrites, another's interrupted fit).
    """

    def __init__(self, folder):
        self.folder = Path(folder)

    @property
    def best(self):
        return self.folder / BEST_CHECKPOINT

    @property
    def backup(self):
        return self.folder / BACKUP_FOLDER

    def interrupted(self):
        """Whether a fit stopped before finishing left a backup here."""
        return self.backup.is_dir() and any(self.backup.iterdir())

    def prepare(self, fingerprint):
        """Create the folder; return the logs of the epochs an interrupted fit finished.

        Raises
        ------
        ValueError
            If the folder holds an interrupted fit of another configuration.
        """
        if self.folder.exists() and not self.folder.is_dir():
            raise ValueError(f"checkpoint_dir {str(self.folder)!r} exists and is not a directory.")
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.interrupted():
            atomic_write_json(self.folder / RUN_FILE, fingerprint)
            return []
        recorded = self._read_json(RUN_FILE)
        if recorded != fingerprint:
            raise ValueError(
                f"checkpoint_dir {str(self.folder)!r} holds an interrupted fit of a different "
                "configuration or data; resume it with the same settings, or use another "
                "checkpoint_dir (nothing was overwritten)."
            )
        return self._read_json(HISTORY_FILE) or []

    def _read_json(self, name):
        path = self.folder / name
        if not path.is_file():
            return None
        return json.loads(path.read_text())


def monitored_values(epoch_logs, monitor):
    """The values of ``monitor`` over the recorded epochs (missing ones skipped)."""
    return [entry[monitor] for entry in epoch_logs if monitor in entry]


def user_callbacks(callbacks):
    """Fresh copies of the user's callbacks, so no fit shares state with another."""
    if callbacks is None:
        return []
    if isinstance(callbacks, keras.callbacks.Callback):
        callbacks = [callbacks]
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, keras.callbacks.Callback):
            raise TypeError(
                f"callbacks must be keras.callbacks.Callback instances, got {type(callback).__name__}."
            )
    return [copy.deepcopy(callback) for callback in callbacks]
