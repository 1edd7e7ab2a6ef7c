"""Everything a member's ``fit`` needs besides the network: seeds, splits, callbacks.

Kept apart from the estimator so that ``fit`` reads as a short recipe.
"""

import contextlib
import copy
import threading

import keras
import numpy as np

from members.utils.files import atomic_write_json

OPTIMIZERS = ("adam", "rmsprop", "sgd")


# ------------------------------------------------------------------ Keras session
_session_lock = threading.Lock()
_active_fits = 0


@contextlib.contextmanager
def keras_session():
    """Clear Keras's global state before a fit, unless another fit is running.

    ``clear_session`` frees the graphs and name counters that otherwise grow
    with every model built in the process; clearing while another thread is
    training would pull the state from under it, hence the count. When the
    last running fit ends, the gradient functions its tracing registered are
    dropped too (see :func:`_drop_traced_custom_gradients`).
    """
    global _active_fits, _gradients_before
    with _session_lock:
        if _active_fits == 0:
            # free_memory=False: skip the full gc.collect() Keras would run on every
            # fit (0.15-0.5 s each, most of a small fit). Python's own collector
            # still frees the old graphs; only the global state is reset here.
            keras.backend.clear_session(free_memory=False)
            _gradients_before = _custom_gradient_names()
        _active_fits += 1
    try:
        yield
    finally:
        with _session_lock:
            _active_fits -= 1
            if _active_fits == 0:
                _drop_traced_custom_gradients(_gradients_before)


_gradients_before = None


def build_training_state(model, X, y):
    """Create the optimizer's and the metrics' variables before ``model.fit`` traces a step.

    Keras 3 on TensorFlow defers creating them to the first traced train
    step (``_maybe_symbolic_build`` returns early without a distribution
    strategy), and ``tf.function`` traces a function whose first call
    created variables a second time. That second trace is most of a short
    fit: 1.9 s of a tiny plain network's 4.6 s, 3.1 s of the residual net's
    9.6 s on 2 cores. Building the state symbolically first, as Keras does
    on JAX, leaves one trace (results unchanged: the state is zeros either
    way; tested). Only an optimisation: with another backend, or a Keras
    whose private method is gone or takes other arguments, Keras builds the
    state as it does by default. Nor when the steps run eagerly (nothing is
    traced, and the symbolic build would cost a fifth of a small eager fit).
    """
    build = getattr(model, "_symbolic_build", None)
    if build is None or keras.backend.backend() != "tensorflow" or _runs_eagerly(model):
        return
    try:
        build(data_batch=(X[:1], y[:1], None))
    except TypeError:  # a Keras whose private signature changed: two traces, same result
        pass


def _runs_eagerly(model):
    import tensorflow as tf

    return bool(model.run_eagerly) or tf.config.functions_run_eagerly()


def _gradient_registry():
    """TensorFlow's global gradient-function registry, or None on another backend."""
    if keras.backend.backend() != "tensorflow":
        return None
    try:
        from tensorflow.python.framework import ops
        return ops._gradient_registry._registry
    except (ImportError, AttributeError):  # a TensorFlow that changed its internals
        return None


def _custom_gradient_names():
    registry = _gradient_registry()
    return None if registry is None else {name for name in list(registry)
                                          if name.startswith("CustomGradient-")}


def _drop_traced_custom_gradients(before):
    """Forget the ``tf.custom_gradient`` functions registered while fitting.

    Tracing a train step registers every custom gradient it meets under a
    new ``CustomGradient-<n>`` name in a process-wide registry that is never
    cleared, and each entry keeps its traced graph alive: about 9 MiB per
    fit of even a tiny network (tensorflow#61791, keras#21090). The entries
    are only read while a gradient is being traced, so once no fit is
    running the ones added since the first began can go.
    """
    registry = _gradient_registry()
    if registry is None or before is None:
        return
    # list(): another thread may register gradients meanwhile. The entries of
    # TensorFlow code other than members tracing in another thread at this
    # moment would go too; members never run concurrently with such code here.
    for name in [name for name in list(registry)
                 if name.startswith("CustomGradient-") and name not in before]:
        registry.pop(name, None)


# ------------------------------------------------------------------------- splits
# ---------------------------------------------------------------------- optimizer
#: Learning-rate schedules: a linear warm-up then cosine decay to zero over
#: the planned epochs; halving on plateaus of the monitored loss; constant.
LR_SCHEDULES = ("cosine", "plateau", "constant")

#: Trainable variables that weight decay leaves alone: batch-norm scales and
#: offsets and biases. Decaying them only fights the normalisation.
NO_WEIGHT_DECAY = "gamma|beta|bias"


def make_optimizer(name, learning_rate, *, weight_decay=0.0):
    """A Keras optimizer from its name; SGD gets Nesterov momentum 0.9.

    Parameters
    ----------
    name : {"adam", "rmsprop", "sgd"}
    learning_rate : float or keras.optimizers.schedules.LearningRateSchedule
    weight_decay : float, default=0.0
        Decoupled weight decay (Loshchilov & Hutter): every step shrinks the
        weights by ``learning_rate * weight_decay`` of themselves, apart from
        the gradient (``"adam"`` with it is AdamW). Batch-norm parameters and
        biases are not decayed.

    Returns
    -------
    keras.optimizers.Optimizer
    """
    decay = {"weight_decay": weight_decay} if weight_decay else {}
    if name == "adam":
        optimizer = keras.optimizers.Adam(learning_rate=learning_rate, **decay)
    elif name == "rmsprop":
        optimizer = keras.optimizers.RMSprop(learning_rate=learning_rate, **decay)
    elif name == "sgd":
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9,
                                         nesterov=True, **decay)
    else:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}.")
    if weight_decay:
        optimizer.exclude_from_weight_decay(var_names=NO_WEIGHT_DECAY.split("|"))
    return optimizer


def learning_rate_schedule(name, learning_rate, *, steps_per_epoch, epochs, warmup_epochs):
    """The learning rate (a float) or schedule (a function of the step) to train with.

    ``"cosine"`` rises linearly from 0 to ``learning_rate`` over the first
    ``warmup_epochs`` (at most half of the training) and then follows a
    half cosine down to 0 at the end of the last epoch: large steps while
    the network is far from a minimum, small ones to settle in it, and no
    validation signal needed to decide when. ``"plateau"`` and
    ``"constant"`` start from ``learning_rate`` (the plateau reductions are
    a callback's job).

    Parameters
    ----------
    name : {"cosine", "plateau", "constant"}
    learning_rate : float
    steps_per_epoch : int
    epochs : int
    warmup_epochs : float

    Returns
    -------
    float or keras.optimizers.schedules.CosineDecay
    """
    if name != "cosine":
        return learning_rate
    total_steps = max(1, steps_per_epoch * epochs)
    warmup_steps = min(int(round(steps_per_epoch * warmup_epochs)), total_steps // 2)
    if warmup_steps == 0:
        return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=total_steps)
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=total_steps - warmup_steps, warmup_target=learning_rate,
        warmup_steps=warmup_steps,
    )


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


class ResumableReduceLROnPlateau(keras.callbacks.ReduceLROnPlateau):
    """Learning-rate reduction that picks up its counters where an interrupted fit left them.

    The reductions already made live in the restored optimizer state; what
    is replayed here is the bookkeeping (best value, epochs waited,
    cooldown), so that the resumed fit reduces at the epoch an
    uninterrupted one would.
    """

    def __init__(self, *, previous_values=(), **kwargs):
        super().__init__(**kwargs)
        self.previous_values = list(previous_values)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        for value in self.previous_values:
            self._replay(value)

    def _replay(self, current):
        # ReduceLROnPlateau.on_epoch_end's counters, without touching the optimizer.
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                self.cooldown_counter = self.cooldown
                self.wait = 0


def history_as_lists(epoch_logs):
    """Per-epoch dicts -> ``{"epoch": [...], "loss": [...], ...}`` (Keras's layout)."""
    keys = []
    for entry in epoch_logs:
        keys += [key for key in entry if key not in keys]
    return {key: [entry.get(key, float("nan")) for entry in epoch_logs] for key in keys}


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
                "callbacks must be keras.callbacks.Callback instances, "
                f"got {type(callback).__name__}."
            )
    return [copy.deepcopy(callback) for callback in callbacks]
