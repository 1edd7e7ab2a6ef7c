"""Soft targets for a member taught by a teacher: the loss, its targets and its accuracy.

Knowledge distillation (Hinton, Vinyals and Dean 2015) trains a network on
another model's probabilities as well as on the labels. Both are softened
by a temperature ``T``: the teacher's and the student's probabilities are
raised to the power ``1/T`` and renormalised, which for probabilities
that come out of a softmax is the softmax of the logits divided by ``T``.
The soft term is scaled by ``T**2`` so that its gradients keep their size
whatever the temperature, as in the paper:

    loss = w * T**2 * KL(teacher_T || student_T) + (1 - w) * CE(labels, student)

The training targets are one array per row, ``[labels | teacher_T]`` (the
labels one-hot, smoothed when the member smooths them, then the tempered
teacher), so that Keras's validation split, checkpoints and early stopping
carry them like any other targets. After training, the member is compiled
again with its ordinary loss: a taught member is an ordinary fitted member.
"""

import keras
import numpy as np
from keras import ops

#: Probabilities are floored here before their logarithm in the teacher's term (a zero
#: would be -inf). Far below Keras's 1e-7: softening raises the floor to its 1/T-th
#: power, and at T = 4 a floor of 1e-7 would put 1.8 % of the mass on every class the
#: teacher rules out. float32 softmax outputs reach about 1e-38.
PROBABILITY_FLOOR = 1e-30
#: The labels' term clips as Keras's cross-entropy does on probabilities, so that
#: ``teacher_weight=0`` trains as the labels alone do, up to float rounding.
LABELS_FLOOR = 1e-7


def tempered(proba, temperature):
    """``proba ** (1 / temperature)``, renormalised: a softmax of the logits over ``T``.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
    temperature : float

    Returns
    -------
    ndarray of shape (n_samples, n_classes), float32
    """
    logits = np.log(np.clip(np.asarray(proba, dtype=np.float64), PROBABILITY_FLOOR, None))
    logits = logits / temperature
    logits -= logits.max(axis=1, keepdims=True)
    soft = np.exp(logits)
    return (soft / soft.sum(axis=1, keepdims=True)).astype("float32")


def check_teacher_proba(teacher_proba, n_samples, n_classes):
    """The teacher's probabilities as float64 rows that sum to one, or a ValueError.

    Parameters
    ----------
    teacher_proba : array-like of shape (n_samples, n_classes)
    n_samples, n_classes : int
        What ``X`` and ``y`` hold.

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
    """
    proba = np.asarray(teacher_proba, dtype=np.float64)
    if proba.shape != (n_samples, n_classes):
        raise ValueError(
            f"teacher_proba must have shape (n_samples, n_classes) = ({n_samples}, {n_classes}) "
            f"(one column per class in y, in sorted order), got {proba.shape}."
        )
    if not np.all(np.isfinite(proba)) or np.any(proba < 0):
        raise ValueError("teacher_proba must hold finite probabilities >= 0.")
    sums = proba.sum(axis=1, keepdims=True)
    if np.any(sums <= 0):
        raise ValueError("teacher_proba has a row of zeros: every row needs a probability > 0.")
    return proba / sums


def distillation_targets(labels, teacher_proba, temperature, label_smoothing=0.0):
    """The targets of a taught member: ``[labels one-hot (smoothed) | tempered teacher]``.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Encoded labels.
    teacher_proba : ndarray of shape (n_samples, n_classes)
    temperature : float
    label_smoothing : float, default=0.0

    Returns
    -------
    ndarray of shape (n_samples, 2 * n_classes), float32
    """
    n_classes = teacher_proba.shape[1]
    hard = np.eye(n_classes, dtype="float32")[labels]
    if label_smoothing:
        hard = hard * (1.0 - label_smoothing) + label_smoothing / n_classes
    return np.concatenate([hard, tempered(teacher_proba, temperature)], axis=1)


def labels_of(targets, n_classes):
    """Encoded labels from class indices, one-hot rows or distillation targets."""
    targets = np.asarray(targets)
    if targets.ndim == 1:
        return targets
    return np.argmax(targets[:, :n_classes], axis=1)


@keras.saving.register_keras_serializable(package="keras_ensembles")
class DistillationLoss(keras.losses.Loss):
    """Hinton's loss on ``[labels | tempered teacher]`` targets and a softmax output.

    Parameters
    ----------
    temperature : float
        Both distributions are softened by it in the soft term.
    teacher_weight : float
        ``w`` in ``w * T**2 * KL + (1 - w) * CE``: 1 learns from the
        teacher alone, 0 from the labels alone.
    name : str, default="distillation"
    """

    def __init__(self, temperature, teacher_weight, name="distillation", **kwargs):
        super().__init__(name=name, **kwargs)
        self.temperature = float(temperature)
        self.teacher_weight = float(teacher_weight)

    def call(self, y_true, y_pred):
        n_classes = ops.shape(y_pred)[-1]
        hard, soft = y_true[:, :n_classes], y_true[:, n_classes:]
        hard_term = -ops.sum(hard * ops.log(ops.clip(y_pred, LABELS_FLOOR, 1.0)), axis=-1)
        # log softmax(z / T) from log p = z - logsumexp(z): the shift cancels.
        log_proba = ops.log(ops.clip(y_pred, PROBABILITY_FLOOR, 1.0))
        log_student = ops.log_softmax(log_proba / self.temperature, axis=-1)
        log_teacher = ops.log(ops.clip(soft, PROBABILITY_FLOOR, 1.0))
        soft_term = ops.sum(soft * (log_teacher - log_student), axis=-1)
        return (self.teacher_weight * self.temperature ** 2 * soft_term
                + (1.0 - self.teacher_weight) * hard_term)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature,
                "teacher_weight": self.teacher_weight}


@keras.saving.register_keras_serializable(package="keras_ensembles")
def accuracy(y_true, y_pred):
    """Accuracy against the labels half of distillation targets (logged as ``accuracy``)."""
    n_classes = ops.shape(y_pred)[-1]
    labels = ops.argmax(y_true[:, :n_classes], axis=-1)
    return ops.cast(ops.equal(labels, ops.argmax(y_pred, axis=-1)), "float32")
