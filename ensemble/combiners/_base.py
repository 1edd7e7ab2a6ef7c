"""What every combiner shares: members as parameters, the fit recipe, prediction."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils import Bunch
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ensemble.combiners import calibration
from ensemble.combiners._blending_rows import blending_data, check_source
from ensemble.combiners.budget import budgeted_blending_data
from ensemble.combiners.member_list import check_members, stacked_probas
from ensemble.evaluation.uncertainty import choose_abstention_threshold
from members.utils.checks import check_real
from members.utils.inputs import flatten_images
from members.utils.labels import label_indices
from members.utils.uncertainty import decompose_uncertainty, entropy

CALIBRATIONS = ("temperature",)


#: Parameter and attribute descriptions both combiners share, written once and
#: spliced into each class's docstring where its ``%(name)s`` line stands, by
#: :func:`members.utils.docs.with_shared_docs`, so that each class still
#: documents every parameter in full (numpydoc, Sphinx, ``help()``).
SHARED_DOCS = {
    "holdout": """\
    holdout : float or int, default=0.1
        Share (or count) of the training rows held out, stratified, as
        blending data when neither ``cv`` nor ``validation_data`` is given.
        A share is rounded up and grows to one row per class on small data
        (when every class has two rows or more); every class is then on
        both sides of the split.
""",
    "fit_settings": """\
    n_jobs : int or None, default=None
        Members (and folds) trained in parallel through joblib; any joblib
        backend works, e.g. Dask. TensorFlow threads are divided between
        the workers.
    random_state : int, RandomState or None, default=None
        Seeds the held-out split, and every member whose own
        ``random_state`` is None (each gets its own seed drawn from it).
    checkpoint_dir : str, os.PathLike or None, default=None
        Folder in which every member that has a ``checkpoint_dir``
        parameter (the classes in :mod:`members`) keeps its checkpoints, in
        ``<checkpoint_dir>/<member name>/<fit>``. Re-running an interrupted
        ``fit`` with the same folder, settings and data loads the members
        that finished instead of retraining them, and resumes the one that
        was interrupted after its last finished epoch. With a held-out
        split this needs an int ``random_state``, so that the re-run holds
        out the same rows.
    verbose : int, default=0
        A progress bar over member fits when > 0.
    time_limit : float or None, default=None
        Seconds ``fit`` may take. The budget becomes a plan measured on
        this machine and data (:mod:`ensemble.combiners.budget`): when a
        member can be scaled up (a built-in architecture with a
        half-resolution stem), the members as given and that one member
        with a full-resolution stem each train for a tenth of the budget,
        the plan with the lower log loss on the blending rows wins, and its
        members share the rest, each planning the epochs that fit, to the
        step (up to four times its own ``epochs``) and stopping before its
        share runs out; with a cosine schedule a member trains on every row the
        combiner does not hold out (no validation split of its own: the
        blending rows judge it). The fitted members are then the winner's
        (``named_members_`` says which); ``budget_plan_`` keeps the race,
        the choice and why.
        Members must take a ``time_limit`` (the classes in
        :mod:`members`). A budget too short for one epoch raises
        ``ValueError`` naming the smallest workable one. None: every
        member trains its own ``epochs``.
""",
    "fitted_members": """\
    members_ : list of estimators
        The fitted members, dropped ones left out.
    named_members_ : Bunch
        The fitted members by name.
""",
    "fitted_blend": """\
    blend_targets_ : ndarray of shape (n_blend,)
    abstention_ : dict
        Only after :meth:`set_abstention`: the uncertainty score, its
        threshold and what it gave on the rows it was chosen on.
    cascade_ : dict
        Only after :meth:`set_cascade`: the cascade's first member, its
        confidence threshold and what it gave on the rows it was chosen on.
    network_fits_ : int
        Member fits performed by ``fit`` (with ``time_limit``: the final
        ones, not the race's).
    budget_plan_ : dict
        Only with ``time_limit``: ``time_limit``; ``race`` (each plan's
        members, seconds, log loss and accuracy on the blending rows, or
        why there was none); ``chosen`` and ``why``; ``members`` (each
        final member's share of the budget, the epochs it planned and
        trained, its seconds); ``seconds`` (the race and the members' training,
        before the combiner learns its weights).
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
""",
}


class MemberEnsembleBase(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Base of the combiners: fit members, keep their blending predictions, combine.

    Subclasses implement ``_fit_combiner(probas, y_indices, features)``,
    learning from member probabilities of shape (n_members, n_blend,
    n_classes), and ``_combine(probas, features)``, returning ensemble
    probabilities of shape (n_samples, n_classes) before calibration. They
    may override ``_used_members()`` to skip members that do not count.
    """

    #: Whether the combiner needs the raw features of the blending rows.
    _needs_features = False

    # ------------------------------------------------------------ parameters
    def get_params(self, deep=True):
        """Parameters, including ``<member>`` and ``<member>__<param>`` when deep.

        Parameters
        ----------
        deep : bool, default=True
            Also return each member by name, and its parameters as
            ``<member>__<param>``.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=False)
        if deep:
            for name, estimator in _well_formed_members(self.members):
                params[name] = estimator
                if hasattr(estimator, "get_params"):
                    for key, value in estimator.get_params(deep=True).items():
                        params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params):
        """Set parameters; ``<member>=estimator`` (or ``'drop'``) replaces a member.

        Parameters
        ----------
        **params
            The combiner's parameters, ``<member>=estimator`` (or ``'drop'``),
            and members' parameters as ``<member>__<param>``.

        Returns
        -------
        self : object
        """
        names = [name for name, _ in _well_formed_members(getattr(self, "members", None))]
        replaced = {key: params.pop(key) for key in list(params) if key in names}
        if replaced:
            self.members = [(name, replaced.get(name, estimator))
                            for name, estimator in self.members]
        return super().set_params(**params)

    # ------------------------------------------------------------------- fit
    def fit(self, X, y, validation_data=None):
        """Fit the members and learn how to combine them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])
        y : array-like of shape (n_samples,)
        validation_data : tuple (X_val, y_val) or None, default=None
            Blending data of your own: the members train on all of ``X`` and
            the combiner learns on their predictions for ``X_val``. With
            ``cv="prefit"``, the prefit members are blended on it instead
            of ``X``.

        Returns
        -------
        self : object
        """
        fitted_state = dict(self.__dict__)
        try:
            return self._fit(X, y, validation_data)
        except BaseException:
            # A failed fit leaves a previously fitted ensemble as it was.
            self.__dict__.clear()
            self.__dict__.update(fitted_state)
            raise

    def _fit(self, X, y, validation_data):
        # A rule chosen for the previous fit's members does not carry over to new ones.
        self.__dict__.pop("abstention_", None)
        self.__dict__.pop("cascade_", None)
        kept = check_members(self.members)
        check_source(self.holdout, self.cv, validation_data)
        _check_time_limit(self.time_limit, self.cv)
        _check_calibration(self.calibration)
        self._check_combiner_params(len(kept))
        X, X_rows, y = self._validate_training_data(X, y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"Classifier can't train when only one class is present: y holds {classes[0]!r}."
            )
        validation_data = self._validate_validation_data(validation_data)
        self.__dict__.pop("budget_plan_", None)
        if self.time_limit is None:
            data = blending_data(
                kept, X, X_rows, y, classes,
                holdout=self.holdout, cv=self.cv, validation_data=validation_data,
                n_jobs=self.n_jobs, random_state=self.random_state,
                checkpoint_dir=self.checkpoint_dir, verbose=self.verbose,
            )
            names = [name for name, _ in kept]
        else:
            data, names, self.budget_plan_ = budgeted_blending_data(
                self, kept, X, X_rows, y, classes, validation_data)
        self.classes_ = classes
        self.members_ = data.members
        self.named_members_ = Bunch(**dict(zip(names, data.members, strict=True)))
        self.blend_predictions_ = data.probas
        self.blend_targets_ = data.targets
        self.network_fits_ = data.network_fits
        self._learn(data.probas, self._class_indices(data.targets), data.features)
        return self

    def _learn(self, probas, y_indices, features):
        """Fit the combiner, then its temperature, on the blending data."""
        _check_calibration(self.calibration)
        self._check_combiner_params(probas.shape[0])
        self._fit_combiner(probas, y_indices, features)
        self.temperature_ = 1.0
        if self.calibration == "temperature":
            self.temperature_ = calibration.fit_temperature(self._combine(probas, features),
                                                            y_indices)

    def _validate_training_data(self, X, y):
        """Validate like a member: images flattened for checks, kept N-d for members."""
        X_images, image_shape = flatten_images(X)
        X_rows, y = validate_data(self, X_images, y, dtype="numeric")
        check_classification_targets(y)
        X = X_rows if image_shape is None else X_rows.reshape(len(X_rows), *image_shape)
        return X, X_rows, y

    def _validate_prediction_data(self, X):
        X_images, image_shape = flatten_images(X)
        X_rows = validate_data(self, X_images, dtype="numeric", reset=False)
        X = X_rows if image_shape is None else X_rows.reshape(len(X_rows), *image_shape)
        return X, X_rows

    def _validate_validation_data(self, validation_data):
        if validation_data is None:
            return None
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise ValueError("validation_data must be a tuple (X_val, y_val).")
        X_val, y_val = validation_data
        X_val, X_val_rows = self._validate_prediction_data(X_val)
        y_val = np.asarray(y_val)
        if y_val.ndim != 1 or len(y_val) != len(X_val_rows):
            raise ValueError(
                f"validation_data has {len(X_val_rows)} samples in X_val but y_val has shape "
                f"{y_val.shape}."
            )
        return X_val, X_val_rows, y_val

    def _class_indices(self, targets):
        """Positions of ``targets`` in ``classes_``; unseen labels are an error."""
        return label_indices(targets, self.classes_, unknown_message=lambda missing: (
            f"The blending data holds labels absent from y: {sorted(missing)}."))

    # ---------------------------------------------------------------- predict
    def transform(self, X):
        """Member probabilities side by side.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])

        Returns
        -------
        ndarray of shape (n_samples, n_members * n_classes)
            Columns ``[m * n_classes:(m + 1) * n_classes]`` are member ``m``'s.
        """
        check_is_fitted(self)
        X, _ = self._validate_prediction_data(X)
        return _side_by_side(stacked_probas(self.members_, X, self.classes_))

    def predict_proba(self, X):
        """Ensemble class probabilities.

        The members' probabilities (each with its own test-time augmentation,
        see the members' ``tta``) are combined, then scaled by
        ``temperature_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X, X_rows = self._validate_prediction_data(X)
        return self._calibrated(self._combine(self._member_probas(X), X_rows))

    def _member_probas(self, X, members="used"):
        """Aligned member probabilities, shape (n_members, n_samples, n_classes).

        With ``members="used"`` the members that do not count (zero blend
        weight) are not run and get zeros; ``"all"`` runs every member; a
        list of positions runs those.
        """
        if isinstance(members, str):
            used = self._used_members() if members == "used" else range(len(self.members_))
        else:
            used = members
        n_samples = len(X)
        probas = np.zeros((len(self.members_), n_samples, len(self.classes_)))
        for index in used:
            probas[index] = stacked_probas([self.members_[index]], X, self.classes_)[0]
        return probas

    def _used_members(self):
        return range(len(self.members_))

    def _calibrated(self, proba):
        return calibration.apply_temperature(proba, getattr(self, "temperature_", 1.0))

    def scored_probas(self, X):
        """Members' and ensemble's probabilities from one pass of every member.

        For reports that put the members beside the ensemble: each member is
        run once, and the ensemble's probabilities are combined from those.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])

        Returns
        -------
        members : ndarray of shape (n_members, n_samples, n_classes)
        uncalibrated : ndarray of shape (n_samples, n_classes)
            The combination before temperature scaling.
        proba : ndarray of shape (n_samples, n_classes)
            What :meth:`predict_proba` returns.
        """
        check_is_fitted(self)
        X, X_rows = self._validate_prediction_data(X)
        members = self._member_probas(X, members="all")
        uncalibrated = self._combine(members, X_rows)
        return members, uncalibrated, self._calibrated(uncalibrated)

    def proba_from_member_probas(self, members, X):
        """What :meth:`predict_proba` returns, from member probabilities already predicted.

        For combiners that share their members (:meth:`from_blend`): a report
        runs each member once and combines the same probabilities in every
        combiner.

        Parameters
        ----------
        members : ndarray of shape (n_members, n_samples, n_classes)
            The ``members`` that :meth:`scored_probas` returns for ``X`` (of
            this ensemble, or of one whose ``members_`` it shares).
        X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])
            The same rows (a stacking combiner with ``passthrough`` reads them).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        _, X_rows = self._validate_prediction_data(X)
        expected = (len(self.members_), len(X_rows), len(self.classes_))
        if np.shape(members) != expected:
            raise ValueError(f"members must have shape {expected} (members, samples, classes), "
                             f"got {np.shape(members)}.")
        return self._calibrated(self._combine(np.asarray(members, dtype=float), X_rows))

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    # ---------------------------------------------------------- uncertainty
    def predict_uncertainty(self, X, *, member_weights="blend"):
        """Per-row confidence, and how much of the uncertainty is the members' disagreement.

        With member weights :math:`w_m` and member probabilities
        :math:`p_m`: ``expected`` :math:`= \\sum_m w_m H(p_m)` (what the
        members are unsure of on average: noise, ambiguous images) and
        ``mutual_information`` :math:`= H(\\sum_m w_m p_m) - \\sum_m w_m
        H(p_m) \\ge 0` (how much they disagree: images unlike the training
        data). ``total`` is the entropy of :meth:`predict_proba`; it equals
        ``expected + mutual_information`` for a weighted average without
        temperature scaling (``temperature_ == 1``). Entropies in nats. See
        :func:`members.utils.uncertainty.decompose_uncertainty`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])
        member_weights : {"blend", "equal"} or array-like of shape (n_members,), default="blend"
            How the members count in ``expected`` and ``mutual_information``.
            ``"blend"``: as the combiner blends them (a weighted average's
            ``weights_``; a stacking combiner's meta-learner has no weight
            per member, so its members count equally, or the best member
            alone when ``selection_ == "best_member"``). When the blend
            keeps a single member the members cannot disagree (mutual
            information 0): pass ``"equal"`` to measure every member's
            disagreement anyway.

        Returns
        -------
        sklearn.utils.Bunch
            ``proba`` (what :meth:`predict_proba` returns), and, each of
            shape (n_samples,), ``confidence`` (its row maximum), ``total``,
            ``expected`` and ``mutual_information``; ``member_weights`` (the
            weights used, summing to one).
        """
        check_is_fitted(self)
        weights = self._uncertainty_weights(member_weights)
        X, X_rows = self._validate_prediction_data(X)
        needed = sorted(set(np.flatnonzero(weights > 0)) | set(self._used_members()))
        return self._uncertainty(self._member_probas(X, members=needed), X_rows, weights)

    def _uncertainty(self, members, X_rows, weights):
        proba = self._calibrated(self._combine(members, X_rows))
        parts = decompose_uncertainty(members, weights)
        return Bunch(proba=proba, confidence=proba.max(axis=1), total=entropy(proba),
                     expected=parts.expected, mutual_information=parts.mutual_information,
                     member_weights=weights)

    def set_cascade(self, X, y, *, tolerance=0.001, first_member=None):
        """Choose and keep a cascade rule: one member's single pass answers the rows it is sure of.

        :class:`~ensemble.combiners.cascade.CascadeEnsemble` chooses the
        lowest confidence of the first member's pass (no test-time
        augmentation) from which the cascade's accuracy on ``X, y`` stays
        within ``tolerance`` of this ensemble's; the rule is kept as
        ``cascade_`` (and in the archive), and
        ``CascadeEnsemble.from_rule(ensemble)`` or ``keras-ensembles
        predict --cascade`` applies it without choosing again.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Labelled rows the members did not train on (the blending rows,
            on which the ensemble's accuracy is a little optimistic, which
            makes the threshold stricter, not looser).
        y : array-like of shape (n_samples,)
        tolerance : float, default=0.001
            Accuracy the cascade may give up on these rows.
        first_member : str or None, default=None
            The first stage (None: the member of largest weight, or a stacking
            ensemble's best member).

        Returns
        -------
        self
        """
        from ensemble.combiners.cascade import CascadeEnsemble  # it wraps this class

        rule = CascadeEnsemble(self, first_member=first_member, tolerance=tolerance).fit(X, y)
        self.cascade_ = rule.rule_
        return self

    def set_abstention(self, X=None, y=None, *, score="total", target_accuracy=None,
                       target_coverage=None, member_weights="blend"):
        """Choose the uncertainty above which rows go to a person, for a target accuracy or share.

        The threshold is chosen on held-out rows: ``X, y`` when given (rows
        neither the members nor the combiner learned from give an honest
        choice), otherwise the blending rows the combiner kept
        (``blend_predictions_``: the members never trained on them, but the
        combiner's weights or meta-learner did, so what it achieves there
        is optimistic: slightly for a few blend weights, more for a
        flexible meta-learner such as a forest; with ``cv`` the rows were
        predicted by the fold models, not by the final members). It is
        stored in ``abstention_`` (saved with the model by
        :func:`ensemble.save`) and applied by :meth:`predict_abstention`.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...), default=None
        y : array-like of shape (n_samples,), default=None
            Held-out rows and their labels; both or neither.
        score : {"total", "mutual_information", "expected", "confidence"}, default="total"
            The uncertainty of :meth:`predict_uncertainty` to threshold;
            ``"confidence"`` thresholds ``1 - confidence``.
        target_accuracy : float, default=None
            The accuracy the rows kept must reach (the most rows that do).
        target_coverage : float, default=None
            The share of rows to keep (the most certain). Give exactly one
            target.
        member_weights : {"blend", "equal"} or array-like, default="blend"
            As in :meth:`predict_uncertainty`; kept for
            :meth:`predict_abstention`.

        Returns
        -------
        self
            With ``abstention_``: a dict of ``score``, ``threshold``,
            ``member_weights``, the target, and the ``coverage`` and
            ``accuracy`` it gave on the ``n_rows`` rows it was chosen on
            (``rows``: ``"given"`` or ``"blending"``).
        """
        check_is_fitted(self)
        _check_abstention_score(score)
        if (X is None) != (y is None):
            raise ValueError("Pass both X and y (held-out rows and their labels), or neither "
                             "(the blending rows).")
        weights = self._uncertainty_weights(member_weights)
        if X is None:
            if not hasattr(self, "blend_predictions_"):
                raise ValueError("This ensemble kept no blending rows (saved by an older "
                                 "version): pass X and y, rows it did not learn from.")
            if getattr(self, "passthrough", False):
                raise ValueError("A stacking combiner with passthrough=True needs the rows' "
                                 "features: pass X and y.")
            members = np.asarray(self.blend_predictions_, dtype=np.float64)
            parts = self._uncertainty(members, None, weights)
            y_indices = self._class_indices(self.blend_targets_)
        else:
            parts = self.predict_uncertainty(X, member_weights=weights)
            y_indices = label_indices(y, self.classes_)
            if len(y_indices) != len(parts.proba):
                raise ValueError(f"X has {len(parts.proba)} rows but y has {len(y_indices)}.")
        correct = np.argmax(parts.proba, axis=1) == y_indices
        choice = choose_abstention_threshold(_abstention_values(parts, score), correct,
                                             target_accuracy=target_accuracy,
                                             target_coverage=target_coverage)
        self.abstention_ = {
            "score": score, "threshold": choice.threshold,
            "member_weights": [float(w) for w in weights],
            "target_accuracy": target_accuracy, "target_coverage": target_coverage,
            "coverage": choice.coverage, "accuracy": choice.accuracy,
            "n_rows": int(len(correct)), "rows": "blending" if X is None else "given"}
        return self

    def predict_abstention(self, X):
        """Which rows to send to a person: their uncertainty is above ``abstention_``'s threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])

        Returns
        -------
        ndarray of bool, shape (n_samples,)
            True: abstain (the model is less sure than the threshold allows).
        """
        check_is_fitted(self, "abstention_", msg=(
            "This %(name)s has no abstention rule yet: call set_abstention first."))
        rule = self.abstention_
        parts = self.predict_uncertainty(X, member_weights=rule["member_weights"])
        return _abstention_values(parts, rule["score"]) > rule["threshold"]

    def _uncertainty_weights(self, member_weights):
        n_members = len(self.members_)
        if isinstance(member_weights, str) and member_weights == "equal":
            return np.full(n_members, 1.0 / n_members)
        if isinstance(member_weights, str) and member_weights == "blend":
            return self._blend_member_weights()
        if isinstance(member_weights, str):
            raise ValueError(f"member_weights must be 'blend', 'equal' or one weight per member, "
                             f"got {member_weights!r}.")
        weights = np.asarray(member_weights, dtype=np.float64)
        if (weights.shape != (n_members,) or not np.all(np.isfinite(weights))
                or np.any(weights < 0) or weights.sum() <= 0):
            raise ValueError(f"member_weights must be {n_members} finite non-negative numbers, "
                             f"not all zero, got {np.asarray(member_weights).tolist()!r}.")
        return weights / weights.sum()

    def _blend_member_weights(self):
        """How the blend weighs each member; equal where the combiner has no weight per member."""
        weights = np.zeros(len(self.members_))
        used = list(self._used_members())
        weights[used] = 1.0 / len(used)
        return weights

    # ---------------------------------------------------------- reuse a blend
    @classmethod
    def from_blend(cls, fitted, **params):
        """A new combiner over the members of a fitted ensemble, training no network.

        The members and their kept blending predictions are shared; only the
        new combiner is learned. ``members`` is taken from ``fitted``.

        Parameters
        ----------
        fitted : MemberEnsembleBase
            A fitted WeightedAverageEnsemble or StackingEnsemble.
        **params
            Parameters of the new combiner (e.g. ``weighting="caruana"``).

        Returns
        -------
        estimator : cls
            A fitted instance of ``cls``.
        """
        check_is_fitted(fitted, "blend_predictions_")
        new = cls(members=fitted.members, **params)
        if new._needs_features:
            raise ValueError(
                "passthrough needs the raw features of the blending rows, which are not kept: "
                "fit this combiner directly or with cv='prefit'."
            )
        for name in ("classes_", "members_", "named_members_", "blend_predictions_",
                     "blend_targets_", "n_features_in_", "feature_names_in_"):
            if hasattr(fitted, name):
                setattr(new, name, getattr(fitted, name))
        new.network_fits_ = 0
        new._learn(new.blend_predictions_, new._class_indices(new.blend_targets_), None)
        return new

    # -------------------------------------------------------------- protocol
    def __sklearn_is_fitted__(self):
        return hasattr(self, "members_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def _check_combiner_params(self, n_members):
        """Clear errors for the combiner's own settings, before any member is trained."""

    def _fit_combiner(self, probas, y_indices, features):  # pragma: no cover - abstract
        raise NotImplementedError

    def _combine(self, probas, X_rows):  # pragma: no cover - abstract
        raise NotImplementedError


def _check_time_limit(time_limit, cv):
    if time_limit is None:
        return
    check_real(time_limit, "time_limit", low=0.0, low_open=True)
    if isinstance(cv, str) and cv == "prefit":
        raise ValueError("time_limit has nothing to train with cv='prefit': the members are "
                         "already fitted. Fit without time_limit.")


def _check_calibration(value):
    if value is not None and value not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {CALIBRATIONS} or None, got {value!r}.")


def _well_formed_members(members):
    """The (name, estimator) pairs of ``members``, or none if it is malformed.

    ``get_params`` and ``set_params`` must not raise on bad values (scikit-learn
    validates in ``fit``), so they read the member list leniently.
    """
    if not isinstance(members, (list, tuple)):
        return []
    return [entry for entry in members
            if isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], str)]


def _side_by_side(probas):
    """(n_members, n_samples, n_classes) -> (n_samples, n_members * n_classes)."""
    n_members, n_samples, n_classes = probas.shape
    return probas.transpose(1, 0, 2).reshape(n_samples, n_members * n_classes)


#: The per-row uncertainties an abstention rule may threshold.
ABSTENTION_SCORES = ("total", "mutual_information", "expected", "confidence")


def _check_abstention_score(score):
    if not isinstance(score, str) or score not in ABSTENTION_SCORES:
        raise ValueError(f"score must be one of {list(ABSTENTION_SCORES)}, got {score!r}.")


def _abstention_values(parts, score):
    """The uncertainty to threshold: larger is less certain (``1 - confidence`` for confidence)."""
    return 1.0 - parts.confidence if score == "confidence" else parts[score]
