"""Checkpoints: best-epoch saves, per-epoch backups, fingerprints and resuming a killed fit.

Everything a member writes under ``checkpoint_dir`` and reads back lives
here; :mod:`members._training` keeps seeds, splits and the callbacks that
train, and :mod:`members._wrapper` calls :func:`checkpoint_for` once per fit.

Layout of one folder (see :class:`CheckpointFolder`): ``best.keras``,
``backup/`` (``state.json`` and the last epoch's weights), ``history.json``,
``run.json``, ``final.keras`` and ``final.json``, ``.lock``.
"""

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path

import keras
import numpy as np
from sklearn.utils import Bunch

from members.utils.files import atomic_write_bytes, atomic_write_json, keras_model_to_bytes
from members.utils.fingerprints import OUTPUT_ONLY_PARAMS, stable_repr
from members.utils.seeds import seed_from

#: File names inside ``checkpoint_dir``.
BEST_CHECKPOINT = "best.keras"
BACKUP_FOLDER = "backup"
BACKUP_STATE = "state.json"
HISTORY_FILE = "history.json"
RUN_FILE = "run.json"
FINAL_MODEL = "final.keras"
FINAL_RECORD = "final.json"
LOCK_FILE = ".lock"

#: Parameters that may differ between an interrupted fit and its resumption:
#: ``precise_bn`` acts after the last epoch (it is part of a finished fit's record).
PARAMS_FREE_TO_CHANGE_ON_RESUME = OUTPUT_ONLY_PARAMS | {"epochs", "tta", "precise_bn"}


def checkpoint_for(estimator, X, y, validation, input_shape, pixel_scale, teacher=None):
    """The checkpoint folder and the fingerprints of one fit, or None without a folder.

    ``run`` identifies the fit an interrupted run may resume (the epoch
    cap may change in between); ``final`` adds the epoch cap and
    identifies a finished fit that can be loaded instead of retrained.
    Both include a digest of the data, so that a checkpoint never serves
    a fit on other data of the same size.

    Parameters
    ----------
    estimator : MemberClassifierBase
        The member being fitted (its parameters and ``n_features_in_``).
    X, y : ndarray
        The training rows and encoded labels, after the validation split.
    validation : tuple or None
        ``(X_val, y_val)`` of the validation split.
    input_shape : tuple of int
    pixel_scale : float
    teacher : dict or None, default=None
        With a teacher (``fit(..., teacher_proba=...)``), its settings and a
        digest of its targets: they change what is trained.

    Returns
    -------
    Bunch or None
        ``folder`` (:class:`CheckpointFolder`), ``run`` and ``final`` (dicts).

    Raises
    ------
    ValueError
        A validation split without an int ``random_state``: a re-run would
        validate on other rows.
    """
    if estimator.checkpoint_dir is None:
        return None
    if validation is not None and seed_from(estimator.random_state) is None:
        raise ValueError(
            "checkpoint_dir with a validation split needs an int random_state, so that a "
            "re-run validates on the same rows (got random_state=None)."
        )
    X_val, y_val = (X[:0], y[:0]) if validation is None else validation[:2]
    free = PARAMS_FREE_TO_CHANGE_ON_RESUME
    if estimator.lr_schedule == "cosine":
        free = free - {"epochs"}  # the schedule's length is part of what is trained
    run = {
        "estimator": type(estimator).__name__,
        "params": {key: stable_repr(value)
                   for key, value in sorted(estimator.get_params().items()) if key not in free},
        "input_shape": list(input_shape),
        "pixel_scale": float(pixel_scale),
        "n_train": int(len(y)),
        "n_validation": int(len(y_val)),
        "n_features": int(estimator.n_features_in_),
        "data_sha256": data_digest(X, y, X_val, y_val),
    }
    if teacher is not None:
        run["teacher"] = dict(teacher)
    return Bunch(folder=CheckpointFolder(estimator.checkpoint_dir), run=run,
                 final=dict(run, epochs=int(estimator.epochs),
                            precise_bn=stable_repr(estimator.precise_bn)))


def restore_best_weights(model, folder):
    """Give ``model`` the weights of the best epoch recorded in ``folder``.

    The best epoch may predate a resume, so early stopping's in-memory copy
    may not hold it; the best checkpoint always does.
    """
    if folder.best.is_file():
        best = keras.saving.load_model(folder.best, compile=False, safe_mode=True)
        model.set_weights(best.get_weights())


class BestCheckpoint(keras.callbacks.Callback):
    """Save the model whenever the monitored loss improves, atomically.

    Keras's ``ModelCheckpoint`` writes in place, so a process killed while it
    writes leaves a truncated ``best.keras`` that the resumed fit cannot load.
    """

    def __init__(self, path, monitor, best=None):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.best = np.inf if best is None else float(best)

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None or not current < self.best:
            return
        self.best = float(current)
        atomic_write_bytes(self.path, keras_model_to_bytes(self.model))


class EpochBackup(keras.callbacks.Callback):
    """Keep the last finished epoch on disk so that a killed fit resumes from it.

    Each epoch's weights (with the optimizer's state) go to a new file, and
    only then does ``state.json`` -- written atomically -- name that file
    beside the logs of every finished epoch. Whenever the process dies,
    ``state.json`` therefore describes complete epochs whose weights file is
    complete, and the logs and the weights always agree (Keras's
    ``BackupAndRestore`` writes weights and metadata in place, one after the
    other, so a kill between them leaves them out of step).

    Parameters
    ----------
    folder : pathlib.Path
        The backup folder.
    log_writer : EpochLogWriter
        Whose ``epochs`` list is saved with the weights; it must run before
        this callback.
    """

    def __init__(self, folder, log_writer):
        super().__init__()
        self.folder = Path(folder)
        self.log_writer = log_writer

    def on_epoch_end(self, epoch, logs=None):
        self.folder.mkdir(parents=True, exist_ok=True)
        weights_name = f"epoch-{epoch + 1}.weights.h5"
        weights_path = self.folder / weights_name
        self.model.save_weights(weights_path, overwrite=True)
        _fsync_file(weights_path)
        atomic_write_json(self.folder / BACKUP_STATE, {
            "epochs": epoch + 1, "weights": weights_name, "history": self.log_writer.epochs,
        })
        for old in self.folder.glob("epoch-*.weights.h5"):
            if old.name != weights_name:
                old.unlink(missing_ok=True)


def _fsync_file(path):
    with open(path, "rb") as file:
        os.fsync(file.fileno())


def restore_backup(model, backup_folder, state):
    """Load the weights and optimizer state of the last finished epoch into ``model``."""
    if model.optimizer is not None and not model.optimizer.built:
        # Building creates the optimizer's variables, so that its state loads too.
        model.optimizer.build(model.trainable_variables)
    model.load_weights(Path(backup_folder) / state["weights"])


def data_digest(*arrays):
    """SHA-256 of the training data, so that a checkpoint never serves other data."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.view(np.uint8).reshape(-1) if array.size else b"")
    return digest.hexdigest()


class CheckpointFolder:
    """The files of one member fit under ``checkpoint_dir``.

    - ``best.keras``: the best epoch so far (written atomically);
    - ``backup/``: the last finished epoch's weights and ``state.json``
      (see :class:`EpochBackup`), removed when the fit completes;
    - ``history.json``: every finished epoch's logs, for people to read;
    - ``run.json``: what is being trained (settings and a digest of the
      data), so that a different configuration never resumes from, or
      silently overwrites, another's interrupted fit;
    - ``final.keras`` and ``final.json``: the finished model and what it was
      trained on, so that the same fit run again is loaded, not retrained.
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
        return (self.backup / BACKUP_STATE).is_file()

    def check_usable(self):
        if self.folder.exists() and not self.folder.is_dir():
            raise ValueError(f"checkpoint_dir {str(self.folder)!r} exists and is not a directory.")

    @contextlib.contextmanager
    def locked(self):
        """Hold the folder for one fit; another fit using it meanwhile gets a clear error.

        An advisory ``flock`` on ``.lock``: the kernel releases it when its
        holder dies, so a killed fit never leaves the folder locked.
        """
        self.check_usable()
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; fits must not share folders
            yield
            return
        with open(self.folder / LOCK_FILE, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ValueError(
                    f"checkpoint_dir {str(self.folder)!r} is in use by another fit; give each "
                    "fit that runs at the same time its own folder."
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def finished(self, fingerprint):
        """The finished model and its epoch logs when this very fit already ran, else None."""
        self.check_usable()
        record = self._read_json(FINAL_RECORD)
        model_path = self.folder / FINAL_MODEL
        if record is None or record.get("fingerprint") != fingerprint or not model_path.is_file():
            return None
        model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
        return model, record["history"]

    def prepare(self, fingerprint):
        """Create the folder; return the backup state of an interrupted fit, or None.

        A fit that is not a resumption starts from a clean folder: leftovers
        of an earlier run (its finished model, an outdated backup) go.

        Raises
        ------
        ValueError
            If the folder holds an interrupted fit of another configuration.
        """
        self.check_usable()
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.interrupted():
            shutil.rmtree(self.backup, ignore_errors=True)
            for name in (FINAL_RECORD, FINAL_MODEL, BEST_CHECKPOINT):
                (self.folder / name).unlink(missing_ok=True)
            atomic_write_json(self.folder / RUN_FILE, fingerprint)
            return None
        if self._read_json(RUN_FILE) != fingerprint:
            raise ValueError(
                f"checkpoint_dir {str(self.folder)!r} holds an interrupted fit of a different "
                "configuration or data; resume it with the same settings, or use another "
                "checkpoint_dir (nothing was overwritten)."
            )
        return self._read_json(f"{BACKUP_FOLDER}/{BACKUP_STATE}")

    def record_finished(self, model, fingerprint, history):
        """Keep the finished model, then drop the backup it no longer needs."""
        atomic_write_bytes(self.folder / FINAL_MODEL, keras_model_to_bytes(model))
        # The record last: it is what says the model beside it is complete.
        atomic_write_json(self.folder / FINAL_RECORD,
                          {"fingerprint": fingerprint, "history": history})
        shutil.rmtree(self.backup, ignore_errors=True)

    def _read_json(self, name):
        path = self.folder / name
        if not path.is_file():
            return None
        return json.loads(path.read_text())
