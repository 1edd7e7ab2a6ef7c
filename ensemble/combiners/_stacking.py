"""Stacking: a meta-learner on the members' probabilities for the blending rows."""

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from ensemble.combiners import _selection
from ensemble.combiners._base import SHARED_DOCS, MemberEnsembleBase, _side_by_side
from ensemble.combiners.member_list import aligned_proba
from members.utils.docs import with_shared_docs
from members.utils.params import set_init_params

FALLBACKS = ("best_member", None)


@with_shared_docs(SHARED_DOCS)
class StackingEnsemble(MemberEnsembleBase):
    """A meta-learner trained on the members' probabilities for data they never saw.

    Unlike scikit-learn's StackingClassifier, which always fits every member
    k + 1 times, the blending data here may be a held-out split (each member
    fitted once), out-of-fold predictions (``cv=k``) or prefit members.

    Parameters
    ----------
    members : list of (str, estimator)
        Classifiers with ``predict_proba``; ``'drop'`` allowed.
    final_estimator : classifier or None, default=None
        Meta-learner with ``predict_proba``; None: multinomial logistic
        regression (``LogisticRegression(max_iter=1000)``).
    passthrough : bool, default=False
        Append the raw (flat) features to the member probabilities.
    fallback : {"best_member"} or None, default="best_member"
        ``"best_member"``: the meta-learner and the best member alone (the
        member with the lowest log loss on the blending data) are both
        scored by cross-fitting over the blending rows (fitted on
        ``selection_folds - 1`` folds, scored on the held-out one); unless
        the meta-learner predicts the held-out rows better (see
        ``selection_rule``), the ensemble predicts with that member alone.
        A meta-learner is many more parameters than blend weights, and
        over-fits small blending sets. None: always the meta-learner.
    selection_folds : int, default=5
        Folds of that cross-fitting (at most one per blending row).
    selection_rule : {"one_se", "min"}, default="one_se"
        ``"one_se"``: the meta-learner is used only when its cross-fitted
        log loss is below the best member's by more than one standard error
        (of the mean per-row difference); ``"min"``: whenever it is lower.
    calibration : {"temperature"} or None, default=None
        Learn one temperature for the meta-learner's probabilities on the
        blending data (see :class:`WeightedAverageEnsemble`).
    %(holdout)s
    cv : int, cross-validation splitter, "prefit" or None, default=None
        ``k`` or a splitter: the meta-learner learns on out-of-fold
        predictions (each member is fitted k + 1 times). ``"prefit"``: the
        members are already fitted; only the meta-learner is learned, on
        ``(X, y)``.
    %(fit_settings)s

    Attributes
    ----------
    final_estimator_ : classifier
        The fitted meta-learner; its inputs are the members' probabilities
        side by side (see :meth:`transform`), then the raw features with
        ``passthrough``.
    temperature_ : float
        The learned temperature (1.0 without calibration).
    selection_ : {"meta_learner", "best_member"}
        What the ensemble predicts with.
    selection_scores_ : dict of str to dict
        The cross-fitted ``log_loss`` and ``accuracy`` of the meta-learner
        and of the best member alone over the blending rows (empty with
        fewer than 2 blending rows: the meta-learner is used).
    selection_folds_ : int
        Folds of that cross-fitting (0 when none).
    best_member_ : str
        Name of the member with the lowest log loss on the blending rows.
    %(fitted_members)s
    blend_predictions_ : ndarray of shape (n_members, n_blend, n_classes)
        Member probabilities on the blending rows, kept so that another
        combiner can be fitted without retraining (see :meth:`from_blend`).
    %(fitted_blend)s

    See Also
    --------
    WeightedAverageEnsemble : A weighted average of the members instead.
    ensemble.PredictionBlender : Blends saved predictions, stacking among its methods.
    sklearn.ensemble.StackingClassifier : scikit-learn's stacking.

    Examples
    --------
    Two tiny members, one epoch each, on a few random images; a quarter of
    them is held out to train the meta-learner:

    >>> import numpy as np
    >>> from ensemble import StackingEnsemble
    >>> from members import PlainCNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(40, 8, 8, 1), dtype=np.uint8)
    >>> y = np.arange(40) % 2
    >>> tiny = dict(stem_filters=4, filters=(8,), dense_units=8, epochs=1)
    >>> stack = StackingEnsemble([("a", PlainCNNClassifier(**tiny)),
    ...                           ("b", PlainCNNClassifier(**tiny, dropout=0.1))],
    ...                          holdout=0.25, random_state=0)
    >>> stack.fit(X, y).predict_proba(X[:3]).shape
    (3, 2)
    >>> stack.transform(X[:3]).shape  # the meta-learner's inputs
    (3, 4)
    >>> stack.network_fits_, stack.blend_targets_.shape
    (2, (10,))
    """

    def __init__(self, members, *, final_estimator=None, passthrough=False,
                 fallback="best_member", selection_folds=5, selection_rule="one_se",
                 calibration=None, holdout=0.1, cv=None, n_jobs=None, random_state=None,
                 checkpoint_dir=None, verbose=0, time_limit=None):
        set_init_params(self, locals())

    @property
    def _needs_features(self):
        return bool(self.passthrough)

    def _check_combiner_params(self, n_members):
        if self.fallback not in FALLBACKS:
            raise ValueError(f"fallback must be one of {FALLBACKS}, got {self.fallback!r}.")
        _selection.check_folds(self.selection_folds)
        _selection.check_rule(self.selection_rule)

    def _fit_combiner(self, probas, y_indices, features):
        candidates = {"meta_learner": self._fit_meta_learner}
        if self.fallback == "best_member":
            candidates["best_member"] = _selection.fit_best_member
        scores, self.selection_folds_, row_losses = _selection.cross_fitted_scores(
            candidates, probas, y_indices, features, folds=self.selection_folds)
        self.selection_scores_ = scores
        self.selection_ = _selection.choose(scores, row_losses, rule=self.selection_rule,
                                            simplest_first=("best_member", "meta_learner"),
                                            fallback="meta_learner")
        self.best_member_ = list(self.named_members_)[
            _selection.best_member_index(probas, y_indices)]
        self._fit_meta_learner(probas, y_indices, features, keep=True)

    def _fit_meta_learner(self, probas, y_indices, features, keep=False):
        """Fit a clone of the meta-learner; return how it combines new rows."""
        if self.final_estimator is None:
            final = LogisticRegression(max_iter=1000)
        else:
            final = clone(self.final_estimator)
        # Meta-features go in as class indices so that the meta-learner's
        # columns are positions in classes_ whatever the label type.
        final.fit(self._meta_features(probas, features), y_indices)
        if keep:
            self.final_estimator_ = final
        n_classes = probas.shape[2]

        def combine(new_probas, new_features=None):
            return aligned_proba(final, self._meta_features(new_probas, new_features),
                                 np.arange(n_classes))
        return combine

    def _used_members(self):
        if getattr(self, "selection_", "meta_learner") == "best_member":
            return [self._best_member_position()]
        return range(len(self.members_))

    def _best_member_position(self):
        return list(self.named_members_).index(self.best_member_)

    def _meta_features(self, probas, X_rows):
        meta = _side_by_side(probas)
        if self.passthrough:
            meta = np.hstack([meta, np.asarray(X_rows, dtype=np.float64)])
        return meta

    def _combine(self, probas, X_rows):
        if getattr(self, "selection_", "meta_learner") == "best_member":
            return probas[self._best_member_position()]
        meta = self._meta_features(probas, X_rows)
        return aligned_proba(self.final_estimator_, meta, np.arange(len(self.classes_)))
