"""A cascade: a cheap first stage answers the rows it is sure of, the ensemble the rest.

Most rows are easy: one pass of the ensemble's strongest member already
gets them right with high confidence, and the other members and test-time
transforms change nothing there. :class:`CascadeEnsemble` answers a row with
that single pass when its confidence reaches a threshold, and sends the
others on to the full ensemble. The threshold is chosen on labelled
held-out rows: the lowest one (the most rows answered early) whose
cascade accuracy stays within ``tolerance`` of the full ensemble's on those
rows (Wang et al. 2022, *Wisdom of Committees*).
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ensemble.combiners.member_list import aligned_proba
from members.utils.checks import check_real
from members.utils.labels import label_indices
from members.utils.params import set_init_params

__all__ = ["CascadeEnsemble", "RULE_KEYS", "single_pass"]

#: What a cascade's ``rule_`` (and an ensemble's ``cascade_``) records.
RULE_KEYS = ("first_member", "threshold", "tolerance", "n_rows", "accuracy",
             "ensemble_accuracy", "first_stage_share")


class CascadeEnsemble(ClassifierMixin, BaseEstimator):
    """Answer confident rows with one pass of one member; send the rest to the ensemble.

    Parameters
    ----------
    ensemble : fitted WeightedAverageEnsemble or StackingEnsemble
        The full ensemble: the last stage, and the source of the first.
    first_member : str or None, default=None
        The member whose single pass (no test-time augmentation) is the
        first stage. None: the member with the largest blend weight (a
        stacking ensemble: its ``best_member_``).
    tolerance : float, default=0.001
        How much accuracy the cascade may give up against the full ensemble
        on the rows :meth:`fit` is given.

    Notes
    -----
    ``clone`` keeps the same fitted ``ensemble`` (it is never refitted here),
    so that ``GridSearchCV`` or ``cross_val_score`` can tune ``tolerance``.

    Attributes
    ----------
    threshold_ : float
        The first stage's confidence (largest probability) from which it
        answers a row; ``inf`` when no threshold keeps the accuracy.
    first_member_ : str
        The first stage's member.
    fit_scores_ : dict
        On the rows ``fit`` saw: ``accuracy`` of the cascade and of the full
        ensemble (``ensemble_accuracy``) and ``first_stage_share`` (the rows
        the first stage answered).
    rule_ : dict
        Everything above in one dict (:data:`RULE_KEYS`), as an ensemble's
        ``set_cascade`` keeps it and :meth:`from_rule` rebuilds the cascade.
    classes_ : ndarray of shape (n_classes,)

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble import WeightedAverageEnsemble
    >>> from ensemble.combiners.cascade import CascadeEnsemble
    >>> from members import PlainCNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(80, 8, 8, 1), dtype=np.uint8)
    >>> y = np.arange(80) % 2
    >>> tiny = dict(stem_filters=4, filters=(8,), dense_units=8, epochs=1, tta="flip")
    >>> ensemble = WeightedAverageEnsemble(
    ...     [("a", PlainCNNClassifier(**tiny, random_state=0)),
    ...      ("b", PlainCNNClassifier(**tiny, random_state=1))],
    ...     weighting="equal", random_state=0).fit(X[:60], y[:60])
    >>> cascade = CascadeEnsemble(ensemble).fit(X[60:], y[60:])
    >>> proba, stages = cascade.predict_stages(X[60:])
    >>> proba.shape, sorted(set(stages.tolist())) <= [0, 1]
    ((20, 2), True)
    """

    def __init__(self, ensemble, *, first_member=None, tolerance=0.001):
        set_init_params(self, locals())

    def fit(self, X, y):
        """Choose the threshold on labelled rows the ensemble did not learn from.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Images (or rows) as the ensemble's ``predict_proba`` takes them,
            not its members' training rows (on which they are
            over-confident). Its blending rows serve (``set_cascade`` in the
            command line uses them): the members never trained on them, and
            the blend learned there only makes the ensemble look a little
            better, so the threshold comes out a little stricter.
        y : array-like of shape (n_samples,)
            Their labels.

        Returns
        -------
        self
            With ``threshold_``, ``first_member_`` and ``fit_scores_``.
        """
        check_real(self.tolerance, "tolerance", low=0.0, high=1.0)
        check_is_fitted(self.ensemble)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}.")
        self.classes_ = self.ensemble.classes_
        self.first_member_ = self._first_member_name()
        y_idx = label_indices(y, self.classes_)
        first = self._first_stage_proba(X)
        full = self.ensemble.predict_proba(X)
        first_right = np.argmax(first, axis=1) == y_idx
        full_right = np.argmax(full, axis=1) == y_idx
        self.threshold_ = _lowest_threshold(first.max(axis=1), first_right, full_right,
                                            self.tolerance)
        early = first.max(axis=1) >= self.threshold_
        self.fit_scores_ = {"accuracy": float(np.where(early, first_right, full_right).mean()),
                            "ensemble_accuracy": float(full_right.mean()),
                            "first_stage_share": float(early.mean())}
        self.rule_ = {"first_member": self.first_member_, "threshold": self.threshold_,
                      "tolerance": float(self.tolerance), "n_rows": int(len(y_idx)),
                      **self.fit_scores_}
        return self

    @classmethod
    def from_rule(cls, ensemble, rule=None):
        """The fitted cascade a saved rule describes, without choosing the threshold again.

        Parameters
        ----------
        ensemble : fitted WeightedAverageEnsemble or StackingEnsemble
        rule : dict, default=None
            A cascade's ``rule_`` (see :data:`RULE_KEYS`). None: the
            ensemble's own ``cascade_``, from its ``set_cascade`` (kept in
            its archive).

        Returns
        -------
        CascadeEnsemble
        """
        if rule is None:
            if not hasattr(ensemble, "cascade_"):
                raise ValueError(
                    f"This {type(ensemble).__name__} has no cascade rule: call "
                    "set_cascade(X_val, y_val) (or keras-ensembles fit --cascade-tolerance) "
                    "first."
                )
            rule = ensemble.cascade_
        cascade = cls(ensemble, first_member=rule["first_member"], tolerance=rule["tolerance"])
        cascade.classes_ = ensemble.classes_
        cascade.first_member_ = cascade._first_member_name()
        cascade.threshold_ = float(rule["threshold"])
        cascade.fit_scores_ = {key: rule[key] for key in
                               ("accuracy", "ensemble_accuracy", "first_stage_share")}
        cascade.rule_ = dict(rule)
        return cascade

    def predict_stages(self, X):
        """Probabilities, and which stage answered each row (0: the first, 1: the ensemble).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            As the ensemble's ``predict_proba`` takes it.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows of the first stage where its confidence reaches
            ``threshold_``, the full ensemble's elsewhere.
        stages : ndarray of int, shape (n_samples,)
            0 where the first stage answered, 1 where the ensemble did: the
            share of each is what the cascade saves.
        """
        check_is_fitted(self, "threshold_")
        proba = self._first_stage_proba(X)
        later = proba.max(axis=1) < self.threshold_
        if later.any():
            proba[later] = self.ensemble.predict_proba(np.asarray(X)[later])
        return proba, later.astype(int)

    def predict_proba(self, X):
        """The first stage's probabilities where it is sure, else the ensemble's.

        The first array of :meth:`predict_stages`.
        """
        return self.predict_stages(X)[0]

    def predict(self, X):
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def _first_member_name(self):
        names = list(self.ensemble.named_members_)
        if self.first_member is not None:
            if self.first_member not in names:
                raise ValueError(f"first_member must be one of {names}, got "
                                 f"{self.first_member!r}.")
            return self.first_member
        if hasattr(self.ensemble, "weights_"):
            return names[int(np.argmax(self.ensemble.weights_))]
        return self.ensemble.best_member_

    def _first_stage_proba(self, X):
        """One pass of the first member, columns in the order of ``classes_``."""
        return aligned_proba(single_pass(self.ensemble.named_members_[self.first_member_]), X,
                             self.classes_)

    def __sklearn_clone__(self):
        # The ensemble is fitted and stays so: a clone (GridSearchCV over tolerance,
        # cross_val_score) shares it, as scikit-learn's FrozenEstimator does.
        return type(self)(**self.get_params(deep=False))


def single_pass(member):
    """A view of a fitted member that predicts without test-time augmentation.

    A new object over the same attributes (and so the same network): not
    ``copy.copy``, which goes through the member's pickling and would reload
    its network on every call. The member itself keeps its ``tta``.
    """
    view = object.__new__(type(member))
    view.__dict__.update(member.__dict__)
    view.tta = "none"
    return view


def _lowest_threshold(confidence, first_right, full_right, tolerance):
    """The lowest confidence from which the first stage may answer, keeping the accuracy."""
    order = np.argsort(-confidence, kind="stable")
    # Answering the k most confident rows early: accuracy of that cascade for every k.
    gained = np.cumsum(first_right[order].astype(int) - full_right[order].astype(int))
    accuracy = (full_right.sum() + gained) / len(confidence)
    allowed = np.flatnonzero(accuracy >= full_right.mean() - tolerance - 1e-12)
    # Only cut between distinct confidences: tied rows are answered together.
    sorted_confidence = confidence[order]
    cuttable = np.r_[sorted_confidence[1:] < sorted_confidence[:-1], True]
    allowed = allowed[cuttable[allowed]]
    return float(sorted_confidence[allowed[-1]]) if allowed.size else float("inf")
