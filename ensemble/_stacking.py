"""Stacking: a meta-learner on the members' probabilities for the blending rows."""

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from ._base import MemberEnsembleBase, _side_by_side
from ._members import aligned_proba


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
    calibration : {"temperature"} or None, default=None
        Learn one temperature for the meta-learner's probabilities on the
        blending data (see :class:`WeightedAverageEnsemble`).
    holdout : float or int, default=0.1
    cv : int, cross-validation splitter, "prefit" or None, default=None
    n_jobs : int or None, default=None
    random_state : int, RandomState or None, default=None
    checkpoint_dir : str, os.PathLike or None, default=None
    verbose : int, default=0
        See :class:`WeightedAverageEnsemble` for these six.

    Attributes
    ----------
    final_estimator_ : classifier
        The fitted meta-learner.
    temperature_ : float
        The learned temperature (1.0 without calibration).
    members_, named_members_, blend_predictions_, blend_targets_, network_fits_,
    classes_, n_features_in_
        As on :class:`WeightedAverageEnsemble`.
    """

    def __init__(self, members, *, final_estimator=None, passthrough=False,
                 calibration=None, holdout=0.1, cv=None, n_jobs=None, random_state=None,
                 checkpoint_dir=None, verbose=0):
        self.members = members
        self.final_estimator = final_estimator
        self.passthrough = passthrough
        self.calibration = calibration
        self.holdout = holdout
        self.cv = cv
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.checkpoint_dir = checkpoint_dir
        self.verbose = verbose

    @property
    def _needs_features(self):
        return bool(self.passthrough)

    def _fit_combiner(self, probas, y_indices, features):
        if self.final_estimator is None:
            final = LogisticRegression(max_iter=1000)
        else:
            final = clone(self.final_estimator)
        # Meta-features go in as class indices so that the meta-learner's
        # columns are positions in classes_ whatever the label type.
        self.final_estimator_ = final.fit(self._meta_features(probas, features), y_indices)

    def _meta_features(self, probas, X_rows):
        meta = _side_by_side(probas)
        if self.passthrough:
            meta = np.hstack([meta, np.asarray(X_rows, dtype=np.float64)])
        return meta

    def _combine(self, probas, X_rows):
        meta = self._meta_features(probas, X_rows)
        return aligned_proba(self.final_estimator_, meta, np.arange(len(self.classes_)))
