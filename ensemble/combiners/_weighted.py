"""Weighted average of member probabilities, weights learned on blending data."""

import numbers

import numpy as np

from ensemble.combiners import _selection, averaging
from ensemble.combiners import weights as blend_weights
from ensemble.combiners._base import SHARED_DOCS, MemberEnsembleBase
from members.utils.checks import check_real
from members.utils.docs import with_shared_docs
from members.utils.params import set_init_params

WEIGHTINGS = ("auto", "log_loss", "caruana", "equal", "best_member")
#: The rules ``weighting="auto"`` chooses among, simplest first (see ``selection_rule``).
CANDIDATES = ("best_member", "equal", "log_loss", "caruana")


@with_shared_docs(SHARED_DOCS)
class WeightedAverageEnsemble(MemberEnsembleBase):
    """Average the members' probabilities with weights learned on data they never saw.

    Parameters
    ----------
    members : list of (str, estimator)
        Classifiers with ``predict_proba``; cloned in ``fit`` (except with
        ``cv="prefit"``). An estimator may be ``'drop'``.
    weighting : {"auto", "log_loss", "caruana", "equal", "best_member"} or array-like, \
            default="auto"
        ``"log_loss"``: non-negative weights summing to one that minimise
        the log loss of the blend on the blending data
        (:func:`ensemble.combiners.weights.log_loss_weights`). ``"caruana"``: greedy
        forward selection with replacement, 25 rounds
        (:func:`ensemble.combiners.weights.caruana_weights`). ``"equal"``: plain
        average. ``"best_member"``: all the weight on the member with the
        lowest log loss on the blending data. ``"auto"``: one of these four,
        chosen by their cross-fitted log loss over the blending rows (each
        rule fitted on ``selection_folds - 1`` folds and scored on the
        held-out one) with ``selection_rule``, so that a learned blend is
        used only when it predicts rows it was not fitted to better than the
        best member alone; with fewer than 2 blending rows, equal weights.
        An array gives one weight per member that is not dropped.
    shrinkage : float, default=0.0
        Learned weights (``"log_loss"``, ``"caruana"``) are pulled toward
        equal weights: ``(1 - shrinkage) * learned + shrinkage / n_members``.
        0 keeps them as learned, 1 makes them equal. Applied inside the
        cross-fitting too, so ``"auto"`` judges the shrunk weights.
    selection_folds : int, default=5
        Folds of the cross-fitting over the blending rows that scores every
        candidate rule (at most one fold per row; stratified when every
        class has two rows or more).
    selection_rule : {"one_se", "min"}, default="one_se"
        How ``"auto"`` picks. ``"one_se"``: the simplest rule (best member
        alone, equal, log loss, Caruana, in that order) whose cross-fitted
        log loss is within one standard error of the lowest, the error of
        the mean per-row difference between the two: a learned blend must
        beat the best member by more than the noise of the blending rows.
        ``"min"``: the lowest cross-fitted log loss (ties to the simpler).
        See BENCHMARKS.md ("Does the blend lose to its best member?") for
        what each gives.
    calibration : {"temperature"} or None, default=None
        ``"temperature"``: after the weights, learn one temperature on the
        blending data that rescales the blend's log-probabilities to
        minimise their log loss (:mod:`ensemble.combiners.calibration`); accuracy is
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
    selection_ : str
        The rule the weights come from: the ``weighting`` asked for, the
        one ``"auto"`` chose, or ``"given"`` for an array.
    selection_scores_ : dict of str to dict
        Each candidate rule's cross-fitted ``log_loss`` and ``accuracy``
        over the blending rows (also computed when ``weighting`` names a
        rule, so that :func:`ensemble.report` can show what the others
        would have scored); empty with fewer than 2 blending rows.
    selection_folds_ : int
        Folds of that cross-fitting (0 when none).
    best_member_ : str
        Name of the member with the lowest log loss on the blending rows.
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
    ensemble.combiners.weights.log_loss_weights : The log-loss weighting.
    ensemble.combiners.weights.caruana_weights : The Caruana weighting.
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

    def __init__(self, members, *, weighting="auto", shrinkage=0.0, selection_folds=5,
                 selection_rule="one_se", calibration=None, holdout=0.1, cv=None, n_jobs=None,
                 random_state=None, checkpoint_dir=None, verbose=0, time_limit=None):
        set_init_params(self, locals())

    def _check_combiner_params(self, n_members):
        check_real(self.shrinkage, "shrinkage", low=0.0, high=1.0)
        _selection.check_folds(self.selection_folds)
        _selection.check_rule(self.selection_rule)
        self._check_weighting(n_members)

    def _fit_combiner(self, probas, y_indices, features):
        rule = self._check_weighting(probas.shape[0])
        scores, folds, row_losses = _selection.cross_fitted_scores(
            self._candidates(), probas, y_indices, folds=self.selection_folds)
        if isinstance(rule, str) and rule == "auto":
            rule = _selection.choose(scores, row_losses, rule=self.selection_rule,
                                     simplest_first=CANDIDATES, fallback="equal")
        self.selection_scores_, self.selection_folds_ = scores, folds
        self.best_member_ = list(self.named_members_)[
            _selection.best_member_index(probas, y_indices)]
        if isinstance(rule, str):
            self.selection_ = rule
            self.weights_ = self._rule_weights(rule, probas, y_indices)
        else:
            self.selection_ = "given"
            self.weights_ = rule

    def _candidates(self):
        """Each rule as a cross-fitting candidate: fitted weights -> a blend of new rows."""
        def candidate(rule):
            def fit(probas, y_indices, features=None):
                weights = self._rule_weights(rule, probas, y_indices)
                return lambda new, new_features=None: self._blend(new, weights)
            return fit
        return {rule: candidate(rule) for rule in CANDIDATES}

    def _rule_weights(self, rule, probas, y_indices):
        n_members = probas.shape[0]
        if rule == "equal":
            return blend_weights.equal_weights(n_members)
        if rule == "best_member":
            return np.eye(n_members)[_selection.best_member_index(probas, y_indices)]
        if rule == "log_loss":
            learned = blend_weights.log_loss_weights(probas, y_indices)
        else:
            learned = blend_weights.caruana_weights(probas, y_indices)
        return (1.0 - self.shrinkage) * learned + self.shrinkage / n_members

    def _check_weighting(self, n_members):
        """The rule name, or the validated array of weights."""
        if isinstance(self.weighting, str):
            if self.weighting not in WEIGHTINGS:
                raise ValueError(
                    f"weighting must be one of {WEIGHTINGS} or an array of weights, got "
                    f"{self.weighting!r}."
                )
            return self.weighting
        if isinstance(self.weighting, numbers.Number):
            raise ValueError(
                f"weighting must be one of {WEIGHTINGS} or an array of {n_members} weights, got "
                f"{self.weighting!r}."
            )
        return blend_weights.check_weights(self.weighting, n_members)

    def _used_members(self):
        # Members with zero weight (common after Caruana selection) are not run.
        return np.flatnonzero(self.weights_ > 0)

    def _blend_member_weights(self):
        return np.asarray(self.weights_, dtype=np.float64) / np.sum(self.weights_)

    def _combine(self, probas, X_rows):
        return self._blend(probas, self.weights_)

    @staticmethod
    def _blend(probas, weights):
        proba = averaging.blend(probas, weights)
        return proba / proba.sum(axis=1, keepdims=True)
