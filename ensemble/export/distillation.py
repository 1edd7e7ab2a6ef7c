"""Distillation: one member trained on a fitted ensemble's probabilities.

An ensemble predicts with every member; a student predicts once. Hinton,
Vinyals and Dean (2015) showed that a network trained on an ensemble's
softened probabilities keeps much of the ensemble's gain at one network's
cost. :func:`distill` computes the teacher's probabilities on the transfer
rows and trains the student through the member's own ``fit``
(``teacher_proba=``), so that its augmentation, validation split, early
stopping and checkpoints all apply; the result is an ordinary fitted member
that predicts, saves, blends and exports like any other.
"""

import statistics
import time

import numpy as np
from sklearn.base import clone
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ensemble.combiners.cascade import single_pass
from members.utils.checks import check_int, check_real
from members.utils.kinds import is_keras_member
from members.utils.tta import resolve_tta

__all__ = ["distill", "cheapest_member", "student_copy"]

#: Rows and repeats of the timing that picks the cheapest member (a median of a few
#: hundred rows says which network is slower without costing a noticeable share).
TIMING_ROWS = 256
TIMING_REPEATS = 3


def distill(ensemble, X, y=None, *, student=None, temperature=1.0, teacher_weight=None,
            augmented_copies=0, random_state=None):
    """Train one member on a fitted ensemble's probabilities (knowledge distillation).

    Parameters
    ----------
    ensemble : fitted classifier
        The teacher: a fitted ensemble (or any fitted classifier with
        ``predict_proba`` and ``classes_``). Its ``predict_proba`` on ``X``,
        test-time augmentation and temperature included, is what the student
        learns.
    X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])
        The transfer rows, usually the rows the ensemble was fitted on.
    y : array-like of shape (n_samples,), default=None
        Their labels, mixed into the loss with weight ``1 - teacher_weight``.
        None: unlabelled rows, taught by the teacher alone (the labels the
        student's ``fit`` needs are the teacher's predictions). The student
        has the teacher's classes either way, also those ``y`` lacks.
    student : Keras member, default=None
        The network to teach, as an unfitted template (it is cloned, never
        changed). None: a copy of the ensemble's cheapest member, the one
        whose single pass predicts fastest here (:func:`cheapest_member`),
        without its checkpoint folder, callbacks and class weights
        (:func:`student_copy`).
    temperature : float, default=1.0
        Softens the teacher's and the student's probabilities in the
        teacher's term of the loss (> 0).
    teacher_weight : float, default=None
        Share of the teacher's term in the loss, in [0, 1]. None: 0.5 with
        labels, 1.0 without.
    augmented_copies : int, default=0
        A consistent teacher (Beyer et al. 2022): add this many copies of
        ``X`` transformed by the student's own augmentation
        (:meth:`~members.MemberClassifierBase.augment`), each labelled with
        the teacher's probabilities for that very copy, and train the
        student on all of them without augmenting again, for ``epochs /
        (augmented_copies + 1)`` epochs (as many steps as without copies;
        ``early_stopping_patience`` still counts these longer epochs). The
        copies of an image stay on the side of the student's validation
        split their image is on.
        0: the student augments while it trains, and learns the teacher's
        probabilities for the unaugmented rows. The fitted student's
        parameters then say what its fit did (``random_shift=0``,
        ``horizontal_flip=False``, its ``tta`` spelled out).
    random_state : int or None, default=None
        Seeds the augmented copies.

    Returns
    -------
    student : fitted member
        The taught member. Compare it with its network trained on ``y``
        alone before serving it: the teacher's gain is not guaranteed.

    Raises
    ------
    TypeError
        ``student`` is not a Keras member, or there is no Keras member to
        copy.
    ValueError
        ``y`` holds a class the teacher does not know, or ``X`` does not
        match the student.

    Examples
    --------
    >>> from ensemble import WeightedAverageEnsemble
    >>> from ensemble.export import distill
    >>> from members import PlainCNNClassifier
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> small = dict(stem_filters=4, filters=(8,), dense_units=8, epochs=2)
    >>> teacher = WeightedAverageEnsemble(
    ...     [(f"seed_{k}", PlainCNNClassifier(**small, random_state=k)) for k in range(2)],
    ...     random_state=0).fit(X, y)
    >>> student = distill(teacher, X, y, student=PlainCNNClassifier(**small, random_state=9))
    >>> student.predict(X[:3]).shape
    (3,)
    """
    check_is_fitted(ensemble)
    # Checked before the teacher predicts: that may take minutes.
    if teacher_weight is None:
        teacher_weight = 1.0 if y is None else 0.5
    check_real(temperature, "temperature", low=0.0, low_open=True)
    check_real(teacher_weight, "teacher_weight", low=0.0, high=1.0)
    check_int(augmented_copies, "augmented_copies", minimum=0)
    template = clone(_student_template(ensemble, X, student))
    groups = None
    if augmented_copies:
        # Copies of one image stay on one side of the student's validation split.
        groups = np.tile(np.arange(len(X)), augmented_copies + 1)
        X = np.concatenate([np.asarray(X), template.augment(X, augmented_copies, random_state)])
        y = None if y is None else np.asarray(y)[groups]
        template = _consistent_student(template, X, augmented_copies)
    teacher_proba = np.asarray(ensemble.predict_proba(X), dtype=np.float64)
    classes = np.asarray(ensemble.classes_)
    labels = classes[np.argmax(teacher_proba, axis=1)] if y is None else np.asarray(y)
    _check_labels(labels, classes)
    return template.fit(X, labels, teacher_proba=teacher_proba, classes=classes,
                        temperature=temperature, teacher_weight=teacher_weight, groups=groups)


def student_copy(member):
    """An unfitted copy of a fitted member to teach: its network and training settings, but
    none of its own files or hooks (its checkpoint folder, which a student's fit would
    replace; its callbacks) nor its class weights (the teacher's probabilities say how
    much each class counts)."""
    return clone(member).set_params(checkpoint_dir=None, callbacks=None, class_weight=None)


def _consistent_student(template, X, copies):
    """The student trained on the fixed augmented copies: no augmentation of its own,
    the same prediction passes, and as many steps as one pass per epoch would make."""
    params = template.get_params()
    shape = tuple(params["input_shape"] or np.asarray(X).shape[1:])
    tta = params["tta"]
    if tta == "auto":
        tta = "flip" if "flip" in resolve_tta("auto", params["horizontal_flip"], shape) else "none"
    epochs = max(1, round(params["epochs"] / (copies + 1)))
    return template.set_params(
        random_shift=0.0, horizontal_flip=False, augmentation=None, tta=tta, epochs=epochs,
        warmup_epochs=min(params["warmup_epochs"] / (copies + 1), epochs / 2))


def cheapest_member(ensemble, X):
    """The ensemble's Keras member whose single pass over a few rows of ``X`` is fastest.

    Parameters
    ----------
    ensemble : fitted ensemble
    X : array-like
        Rows as the ensemble predicts them; the first :data:`TIMING_ROWS` are timed.

    Returns
    -------
    sklearn.utils.Bunch
        ``name``, ``member`` and ``seconds`` (each member's median time,
        by name).
    """
    candidates = [(name, member) for name, member
                  in getattr(ensemble, "named_members_", {}).items() if is_keras_member(member)]
    if not candidates:
        raise TypeError(
            f"{type(ensemble).__name__} has no Keras member to copy as the student: pass "
            "student= (an unfitted Keras member, e.g. PlainCNNClassifier())."
        )
    rows = X[:TIMING_ROWS]
    seconds = {name: _median_seconds(single_pass(member), rows) for name, member in candidates}
    name = min(seconds, key=seconds.get)
    return Bunch(name=name, member=dict(candidates)[name], seconds=seconds)


def _student_template(ensemble, X, student):
    """The unfitted member to teach: the given one, or the cheapest member's settings."""
    if student is None:
        return student_copy(cheapest_member(ensemble, X).member)
    if not is_keras_member(student):
        raise TypeError(
            f"student must be a Keras member (such as PlainCNNClassifier() or "
            f"KerasMemberClassifier(build_fn)), got {type(student).__name__}."
        )
    return student


def _check_labels(labels, classes):
    """The student learns the teacher's columns: labels outside its classes have none."""
    unknown = np.setdiff1d(np.unique(labels), classes)
    if unknown.size:
        raise ValueError(
            f"y holds classes the teacher does not predict: {unknown.tolist()[:10]}; the "
            f"teacher's classes are {classes.tolist()[:20]}."
        )


def _median_seconds(member, rows):
    member.predict_proba(rows)  # warm-up: the first call traces the graph
    times = []
    for _ in range(TIMING_REPEATS):
        start = time.perf_counter()
        member.predict_proba(rows)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
