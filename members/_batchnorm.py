"""Batch-norm statistics that match the weights, and a check that they do.

A batch-norm layer normalises with the statistics of each batch while it
trains and with moving averages of them when it predicts (momentum 0.9 in
the built-in blocks, 0.99 by Keras's default). Those averages trail the
weights: after a short fit on a few hundred images (a few dozen steps, in
which the weights change fast), they describe earlier networks than the
last, and the member predicts far worse than it trained (measured:
training accuracy 1.0, predictions 0.675 on an easy 3-class task; the
first layer's stored variance 0.66 where its inputs' was 0.00-0.02).
"Precise BN" (Wu and Johnson 2021, *Rethinking "Batch" in BatchNorm*)
replaces the averages after training with the statistics of the trained
network on the training rows.

:func:`batchnorm_statistics` runs the training rows once through the model
with the batch-norm layers in training mode (normalising with batch
statistics) and every other layer in inference mode (augmentation and
dropout off), records each layer's per-channel mean and second moment over
all rows, and can store them as the layer's moving mean and variance. The
same pass gives the model's accuracy with batch statistics, which a second
pass in inference mode is compared with: a member whose inference
accuracy on its own training rows is far below shows the mismatch.

Frozen batch-norm layers (``trainable=False``, as in transfer learning) run
in inference mode during training too, so their statistics are left alone.
"""

import contextlib

import keras
import numpy as np
from sklearn.utils import Bunch

from members.utils.prediction import predict_in_batches


def batchnorm_layers(model):
    """The trainable batch-norm layers of ``model``, nested models included.

    Parameters
    ----------
    model : keras.Model

    Returns
    -------
    list of keras.layers.BatchNormalization
    """
    found = {}
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.BatchNormalization):
            # Batch renormalisation keeps statistics of its own, which this pass does not
            # recompute: such layers are left as trained.
            if layer.trainable and not getattr(layer, "renorm", False):
                found[id(layer)] = layer
        elif getattr(layer, "layers", None):
            found.update((id(inner), inner) for inner in batchnorm_layers(layer))
    return list(found.values())  # a layer shared by two models is one layer


class _MomentRecorder:
    """Per-channel sums of one batch-norm layer's inputs over every batch it normalises."""

    def __init__(self, layer):
        self.layer = layer
        self.count = 0
        self.total = 0.0
        self.total_squares = 0.0

    def record(self, inputs, mask=None):
        values = np.asarray(keras.ops.convert_to_numpy(inputs), dtype=np.float64)
        axis = self.layer.axis % values.ndim
        values = np.moveaxis(values, axis, -1).reshape(-1, values.shape[axis])
        if mask is not None:  # masked positions (padding) are not part of the statistics
            keep = np.asarray(keras.ops.convert_to_numpy(mask), dtype=bool).reshape(-1)
            if keep.size == len(values):
                values = values[keep]
        self.count += len(values)
        self.total = self.total + values.sum(axis=0)
        self.total_squares = self.total_squares + np.square(values).sum(axis=0)

    def population(self):
        """Mean and (biased) variance over every value recorded, per channel."""
        mean = self.total / max(self.count, 1)
        return mean, np.maximum(self.total_squares / max(self.count, 1) - mean**2, 0.0)


@contextlib.contextmanager
def _batch_statistics_mode(recorders):
    """Inside it, each recorded layer normalises with batch statistics and records them.

    The model is called in inference mode, so augmentation and dropout stay
    off; only these layers are switched, through their instance's ``call``.
    Their moving averages, which a training-mode call also updates, are put
    back on leaving: storing the recorded statistics is the caller's choice.
    """
    patched = []
    try:
        for recorder in recorders:
            layer = recorder.layer
            statistics = [variable.numpy()
                          for variable in (layer.moving_mean, layer.moving_variance)]
            own_call = layer.__dict__.get("call")  # a call set on the instance, kept
            original = layer.call

            def call(inputs, training=None, mask=None, _recorder=recorder, _original=original):
                _recorder.record(inputs, mask)
                return _original(inputs, training=True, mask=mask)

            object.__setattr__(layer, "call", call)
            patched.append((layer, own_call, statistics))
        yield
    finally:
        for layer, own_call, (mean, variance) in patched:
            if own_call is None:
                object.__delattr__(layer, "call")
            else:
                object.__setattr__(layer, "call", own_call)
            layer.moving_mean.assign(mean)
            layer.moving_variance.assign(variance)


def batchnorm_statistics(model, X, y, *, batch_size=128, update=True):
    """Recompute (or only measure) the batch-norm statistics of ``model`` on ``X``.

    Parameters
    ----------
    model : keras.Model
        A member's model: flat float32 rows in, class probabilities out.
    X : ndarray of shape (n_samples, n_features)
        Training rows, as the model takes them.
    y : ndarray of shape (n_samples,)
        Their class indices.
    batch_size : int, default=128
        Rows per batch of the batch-statistics pass (the batch size the
        network trained with).
    update : bool, default=True
        Store each layer's statistics over ``X`` as its moving mean and
        variance. False measures the mismatch only.

    Returns
    -------
    Bunch or None
        None when the model has no trainable batch-norm layer; otherwise
        ``batch_statistics_accuracy`` (the model's accuracy on ``X`` with
        batch statistics, as in training but without augmentation or
        dropout), ``inference_accuracy`` (in inference mode, after the
        update), ``n_rows``, ``n_layers`` and ``updated``.
    """
    layers = batchnorm_layers(model)
    if not layers or len(X) == 0:
        return None
    recorders = [_MomentRecorder(layer) for layer in layers]
    predictions = []
    with _batch_statistics_mode(recorders):
        for start in range(0, len(X), batch_size):
            batch = keras.ops.convert_to_tensor(X[start:start + batch_size])
            proba = model(batch, training=False)
            predictions.append(np.argmax(keras.ops.convert_to_numpy(proba), axis=1))
    if update:
        for recorder in recorders:
            if recorder.count == 0:
                continue  # a layer this model never reached
            mean, variance = recorder.population()
            recorder.layer.moving_mean.assign(mean.astype("float32"))
            recorder.layer.moving_variance.assign(variance.astype("float32"))
    inference = np.argmax(predict_in_batches(model, X), axis=1)
    return Bunch(
        batch_statistics_accuracy=float(np.mean(np.concatenate(predictions) == y)),
        inference_accuracy=float(np.mean(inference == y)),
        n_rows=int(len(X)), n_layers=len(layers), updated=bool(update),
    )
