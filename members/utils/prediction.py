"""Prediction one batch at a time: what every fitted member and a tuning trial predict with.

The model is only called, never built, so this module imports no TensorFlow:
the tuning package uses it on a trial's network without importing the
member classes.
"""

import numpy as np

from members.utils.tta import transform_batch

#: Rows per prediction batch: large enough to keep the cores busy, small
#: enough that one batch of activations stays far below a gigabyte.
PREDICT_BATCH_SIZE = 512


def predict_in_batches(model, X, batch_size=PREDICT_BATCH_SIZE, *, transforms=("identity",),
                       image_shape=None, average=True):
    """Run ``model`` on ``X`` one batch at a time, averaging over TTA transforms.

    Inputs of at least :data:`COMPILED_PREDICT_MIN_ROWS` rows (counting each
    transform) go through the model's compiled predict function, batch by
    batch, the last batch padded to full size so that the function is traced
    once; smaller ones run eagerly, because tracing costs more than it saves
    on the small inputs of cross-validation folds and estimator checks.
    Either way one batch of activations is held at a time, and the rows are
    converted to float32 a batch at a time.

    Parameters
    ----------
    model : keras.Model
    X : ndarray of shape (n_samples, n_features)
    batch_size : int
    transforms : tuple of str, default=("identity",)
        TTA transform names (:func:`members.utils.tta.transform_batch`).
    image_shape : tuple of int or None
        Shape of one sample as the network sees it; needed for transforms
        other than the identity.
    average : bool, default=True
        Average over the transforms; ``False`` keeps each transform's
        outputs (the passes of test-time augmentation as a small ensemble).

    Returns
    -------
    ndarray of shape (n_samples, n_outputs), float32
        With ``average=False``: shape (n_transforms, n_samples, n_outputs).
    """
    compiled = len(X) * len(transforms) >= COMPILED_PREDICT_MIN_ROWS
    run = _compiled_runner(model, batch_size) if compiled else _eager_runner(model)
    batches = []
    for start in range(0, len(X), batch_size):
        rows = np.asarray(X[start:start + batch_size], dtype="float32")
        if transforms == ("identity",):
            batches.append(run(rows)[np.newaxis])
            continue
        images = rows.reshape(len(rows), *image_shape)
        batches.append(np.stack([run(transform_batch(images, name).reshape(len(rows), -1))
                                 for name in transforms]))
    passes = np.concatenate(batches, axis=1)
    return passes.mean(axis=0, dtype=np.float32) if average else passes



#: From this many rows (times TTA transforms) on, prediction runs compiled.
COMPILED_PREDICT_MIN_ROWS = 4 * PREDICT_BATCH_SIZE


def _eager_runner(model):
    def run(rows):
        import keras  # loaded already (a model exists); here, so this module stays TF-free

        # convert_to_numpy, not np.asarray: a torch tensor needs detaching and a copy to host.
        return keras.ops.convert_to_numpy(model(rows, training=False))
    return run


def _compiled_runner(model, batch_size):
    def run(rows):
        n_rows = len(rows)
        if n_rows < batch_size:
            rows = np.concatenate([rows, np.zeros((batch_size - n_rows,) + rows.shape[1:],
                                                  dtype=rows.dtype)])
        return np.asarray(model.predict_on_batch(rows))[:n_rows]
    return run
