"""Weighted average of member probabilities, weights learned on blending data."""

import numbers

import numpy as np

from . import weights as blend_weights
from ._base import MemberEnsembleBase, with_shared_docs

WEIGHTINGS = ("log_loss", "caruana", "equal")


@with_shared_docs
class WeightedAverageEnsemble(MemberEnsembleBase):
    """Average the members' probabilities with weights learned on data they never saw.

    Parameters
    ----------
    members : list of (str, estimator)
        Classifiers with ``predict_proba``; cloned in ``fit`` (except with
        ``cv="prefit"``). An estimator may be ``'drop'``.
    weighting : {"log_loss", "caruana", "equal"} or array-like, default="log_loss"
        ``"log_loss"``: non-negative weights summing to one that minimise
        the log loss of the blend on the blending data
        (:func:`ensemble.weights.log_loss_weights`). ``"caruana"``: greedy
        forward selection with replacement, 25 rounds
        (:func:`ensemble.weights.caruana_weights`). ``"equal"``: plain
        average. An array gives one weight per member that is not dropped.
    calibration : {"temperature"} or None, default=None
        ``"temperature"``: after the weights, learn one temperature on the
        blending data that rescales the blend's log-probabilities to
        minimise their log loss (:mod:`ensemble.calibration`); accuracy is
        unchanged. It pays when members are over-confident; on
        Fashion-MNIST with the default members it made the test log loss
        and ECE slightly worse (BENCHMARKS.md), hence off by default. None:
        use the blend as it is.
    %(holdout)s
    cv : int, cross-validation splitter, "prefit" or None, default=None
        ``k`` or a splitter: blend on out-of-fold predictions (each member
        is fitted k + 1 times). ``"prefit"``: the members are already
        fitted; only the weights are learned, on ``(X, y)``.
    %(fit_settings)s

    Attributes
    ----------
    %(fitted_members)s
    weights_ : ndarray of shape (n_members,)
        Blend weights, summing to one.
    temperature_ : float
        The learned temperature (1.0 without calibration).
    blend_predictions_ : ndarray of shape (n_members, n_blend, n_classes)
        Member probabilities on the blending rows, kept so that another
        weighting or a stacking combiner can be fitted without retraining
        (see :meth:`from_blend`).
    %(fitted_blend)s

    See Also
    --------
    StackingEnsemble : A meta-learner on the members' probabilities instead.
    ensemble.PredictionBlender : The same weightings for saved predictions.
    ensemble.weights.log_loss_weights, ensemble.weights.caruana_weights : The weightings.
    ensemble.save, ensemble.load : Save a fitted ensemble, and load it.

    Examples
    --------
    Two tiny members, one epoch each, on a few random images; a quarter of
    them is held out to learn the weights:

    >>> import numpy as np
    >>> from ensemble import WeightedAverageEnsemble
    >>> from members import PlainCNNClassifier, SeparableCNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(40, 8, 8, 1), dtype=np.uint8)
    >>> y = np.arange(40) % 2
    >>> ensemble = WeightedAverageEnsemble(
    ...     [("plain", PlainCNNClassifier(stem_filters=4, filters=(8,), dense_units=8, epochs=1)),
    ...      ("separable", SeparableCNNClassifier(stem_filters=4, filters=(8,), epochs=1))],
    ...     holdout=0.25, random_state=0)
    >>> ensemble.fit(X, y).predict_proba(X[:3]).shape
    (3, 2)
    >>> round(float(ensemble.weights_.sum()), 6), list(ensemble.named_members_)
    (1.0, ['plain', 'separable'])

    Another weighting of the same members, training no network:

    >>> caruana = WeightedAverageEnsemble.from_blend(ensemble, weighting="caruana")
    >>> caruana.predict(X[:3]).shape
    (3,)
    """

    def __init__(self, members, *, weighting="log_loss", calibration=None, holdout=0.1,
                 cv=None, n_jobs=None, random_state=None, checkpoint_dir=None, verbose=0):
        self.members = members
        self.weighting = weighting
        self.calibration = calibration
        self.holdout = holdout
        self.cv = cv
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.checkpoint_dir = checkpoint_dir
        self.verbose = verbose

    def _fit_combiner(self, probas, y_indices, features):
        self.weights_ = self._learn_weights(probas, y_indices)

    def _learn_weights(self, probas, y_indices):
        n_members = probas.shape[0]
        if isinstance(self.weighting, str):
            if self.weighting == "log_loss":
                return blend_weights.log_loss_weights(probas, y_indices)
            if self.weighting == "caruana":
                return blend_weights.caruana_weights(probas, y_indices)
            if self.weighting == "equal":
                return blend_weights.equal_weights(n_members)
            raise ValueError(
                f"weighting must be one of {WEIGHTINGS} or an array of weights, got "
                f"{self.weighting!r}."
            )
        if isinstance(self.weighting, numbers.Number):
            raise ValueError(
                f"weighting must be one of {WEIGHTINGS} or an array of {n_members} weights, got "
                f"{self.weighting!r}."
            )
        return blend_weights.check_weights(self.weighting, n_members)

    def _used_members(self):
        # Members with zero weight (common after Caruana selection) are not run.
        return np.flatnonzero(self.weights_ > 0)

    def _combine(self, probas, X_rows):
        proba = blend_weights.blend(probas, self.weights_)
        return proba / proba.sum(axis=1, keepdims=True)
