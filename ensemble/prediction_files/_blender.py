"""Blending predictions made by any tool: learned on OOF probabilities, applied to test ones.

The combiners (``WeightedAverageEnsemble``, ``StackingEnsemble``) own their
members; :class:`PredictionBlender` owns none. It takes each model's
probabilities as they come out of notebooks and other tools, by name, and
learns one of the blending rules on the out-of-fold rows with the solvers of
:mod:`ensemble.combiners.weights`. It then scores that rule by cross-validation over
the OOF rows (fitted on k-1 folds, scored on the k-th), because a blend
scored on the rows its weights were fitted to looks better than it is.

Every rule is a pair of functions, ``fit(stack, y_idx) -> params`` and
``apply(stack, params) -> proba``, over ``stack`` of shape (n_models,
n_samples, n_classes); ``params`` are plain arrays, so a learned blend
is saved as JSON (:meth:`PredictionBlender.to_dict`) and no file runs code
when read.
"""

import functools

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ensemble.combiners import averaging
from ensemble.combiners import weights as blend_weights
from ensemble.evaluation import metrics
from ensemble.evaluation.comparison import compare_to_best_member
from members.utils.checks import check_int
from members.utils.labels import label_indices

__all__ = ["PredictionBlender", "METHODS"]

#: Format tag of :meth:`PredictionBlender.to_dict`, checked by ``from_dict``.
FORMAT = "keras-ensembles blend"
FORMAT_VERSION = 1

#: Features of the stacking rule are log-probabilities floored here (float32's epsilon
#: region), so a model's exact 0 does not give the logistic regression an infinite input.
_LOG_FLOOR = 1e-7


def _one_blas_thread(method):
    """Run ``method`` with BLAS on one thread.

    Its products are skinny (20 models x 1,000,000 values): memory-bound, and
    on a busy 2-core machine OpenBLAS's threads wait on each other, making
    one such product 6 s instead of 0.02 s (measured).
    """
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with threadpool_limits(1, user_api="blas"):
            return method(*args, **kwargs)
    return wrapper


# ----------------------------------------------------------------------- rules
def _fit_weights(solver):
    def fit(stack, y_idx, rounds):
        # Log loss sees only the true class: (true, 1 - true) columns give the solvers
        # the same objective on a fifth of the data for 10 classes (rows sum to one).
        true_p = stack[:, np.arange(len(y_idx)), y_idx][:, :, None]
        reduced, target = np.concatenate([true_p, 1.0 - true_p], axis=2), np.zeros_like(y_idx)
        if solver == "caruana":
            return {"weights": blend_weights.caruana_weights(reduced, target, rounds=rounds)}
        return {"weights": blend_weights.log_loss_weights(reduced, target)}
    return fit


def _fit_equal(stack, y_idx, rounds):
    return {"weights": blend_weights.equal_weights(stack.shape[0])}


def _fit_stacking(stack, y_idx, rounds):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=1000).fit(_stacking_features(stack), y_idx)
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) != stack.shape[2]:
        raise ValueError(f"stacking needs every class among the OOF labels; found "
                         f"{len(model.classes_)} of {stack.shape[2]}")
    return {"coef": coef, "intercept": intercept}


def _average(stack, params):
    return metrics.normalize_probabilities(averaging.blend(stack, params["weights"]))


def _rank(stack, params):
    return averaging.rank_blend(stack, params["weights"])


def _geometric(stack, params):
    return averaging.geometric_blend(stack, params["weights"])


def _stacked(stack, params):
    scores = _stacking_features(stack) @ params["coef"].T + params["intercept"]
    if scores.shape[1] == 1:  # binary: scikit-learn keeps one column, for the second class
        scores = np.hstack([np.zeros_like(scores), scores])
    scores -= scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


def _stacking_features(stack):
    # Log-probabilities: a linear model of them can express a weighted geometric mean.
    return np.log(np.clip(stack, _LOG_FLOOR, 1.0)).transpose(1, 0, 2).reshape(stack.shape[1], -1)


#: method -> (fit, apply)
METHODS = {
    "log_loss": (_fit_weights("log_loss"), _average),
    "caruana": (_fit_weights("caruana"), _average),
    "equal": (_fit_equal, _average),
    "rank": (_fit_equal, _rank),
    "geomean": (_fit_equal, _geometric),
    "stacking": (_fit_stacking, _stacked),
}


class PredictionBlender(BaseEstimator):
    """Blend several models' predicted probabilities, learned on out-of-fold rows.

    Fitted on ``{name: oof_proba}`` and the OOF rows' labels, it predicts
    from ``{name: test_proba}``: the Kaggle loop over predictions made by
    any tool. Probabilities are arrays or DataFrames (whose columns name the
    classes, in any order).

    Not a standard scikit-learn classifier: its input is one probability
    array *per model*, by name, not one feature matrix, so the scikit-learn
    estimator checks (which feed 2-D ``X``) do not apply. It keeps the
    estimator contract where that means something: parameters stored by
    ``__init__``, ``get_params``/``set_params``/``clone``, validation at
    ``fit``, trailing-underscore attributes.

    Parameters
    ----------
    method : {"log_loss", "caruana", "equal", "rank", "geomean", "stacking"}, \
            default="log_loss"
        - ``"log_loss"``: a weighted average, weights on the simplex
          minimising log loss (:func:`ensemble.combiners.weights.log_loss_weights`).
        - ``"caruana"``: a weighted average, greedy selection with
          replacement (:func:`ensemble.combiners.weights.caruana_weights`).
        - ``"equal"``: the plain average.
        - ``"rank"``: the average of per-class ranks
          (:func:`ensemble.combiners.averaging.rank_blend`), for ranking metrics; not
          calibrated.
        - ``"geomean"``: the geometric mean, renormalised (logit averaging,
          :func:`ensemble.combiners.averaging.geometric_blend`), equal weights.
        - ``"stacking"``: a multinomial logistic regression on every model's
          log-probabilities.
    rounds : int, default=25
        Selection rounds of ``"caruana"``.
    cv : int, default=5
        Folds of the cross-validation that scores the blend on the OOF rows
        (stratified when every class has that many rows; at most one fold
        per row).
    random_state : int or None, default=0
        Shuffles the rows into folds.
    fallback : {"best_model"} or None, default="best_model"
        ``"best_model"``: when the model with the lowest OOF log loss
        scores lower than the blend's cross-validated log loss, predict
        with that model alone (``fallback_``): the blend did not predict
        held-out rows better than it. The model's OOF score is not fitted
        to these rows, but which model is best is chosen on all of them
        (a slight advantage to the model). None: always the blend.

    Attributes
    ----------
    models_ : list of str
        The models' names, in the order of ``weights_``.
    classes_ : ndarray of shape (n_classes,)
        The column order of every probability array returned.
    weights_ : ndarray of shape (n_models,) or None
        The learned weights (equal for ``"equal"``, ``"rank"`` and
        ``"geomean"``); ``None`` for ``"stacking"``.
    params_ : dict of str to ndarray
        Everything the rule learned (``weights``, or stacking's ``coef``
        and ``intercept``).
    model_scores_ : dict of str to dict
        Each model's OOF ``log_loss`` and ``accuracy``.
    cv_scores_ : dict
        The blend's ``log_loss`` and ``accuracy`` over the OOF rows, each
        row predicted by a blend fitted without its fold, and ``folds``.
    oof_blend_ : ndarray of shape (n_oof, n_classes)
        Those cross-validated blend predictions.
    fallback_ : str or None
        The model predicted with instead of the blend, or None.
    comparison_ : dict
        The cross-validated blend's gain over the best model on the OOF
        rows, with 95 % paired-bootstrap intervals and McNemar's test
        (:func:`ensemble.evaluation.comparison.compare_to_best_member`).
    correlation_ : ndarray of shape (n_models, n_models)
        Pearson correlation between the models' OOF probabilities (all
        classes, flattened): near 1, a model adds little to another.

    See Also
    --------
    ensemble.WeightedAverageEnsemble : learns the same weights while fitting its members.
    ensemble.prediction_files.sets.read_prediction_files : reads and aligns prediction files.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble import PredictionBlender
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, size=200)
    >>> sure = np.eye(3)[y] * 0.6 + 0.4 / 3            # right, fairly confident
    >>> noisy = rng.dirichlet(np.ones(3), size=200)   # guesses
    >>> blender = PredictionBlender().fit({"sure": sure, "noisy": noisy}, y)
    >>> blender.models_, blender.weights_.round(2).tolist()
    (['sure', 'noisy'], [1.0, 0.0])
    >>> blender.predict({"sure": sure[:3], "noisy": noisy[:3]}).tolist() == y[:3].tolist()
    True
    """

    def __init__(self, method="log_loss", *, rounds=25, cv=5, random_state=0,
                 fallback="best_model"):
        self.method = method
        self.rounds = rounds
        self.cv = cv
        self.random_state = random_state
        self.fallback = fallback

    @_one_blas_thread
    def fit(self, oof, y, *, classes=None):
        """Learn the blend on the OOF rows and score it by cross-validation over them.

        Parameters
        ----------
        oof : dict of str to array-like of shape (n_samples, n_classes)
            Each model's out-of-fold probabilities (arrays, or DataFrames
            whose columns name the classes), rows in the order of ``y``.
        y : array-like of shape (n_samples,)
            The true labels, values of ``classes``.
        classes : array-like of shape (n_classes,), default=None
            The label of each array column; by default the DataFrames'
            columns, else the sorted unique labels of ``y``.

        Returns
        -------
        self : PredictionBlender
        """
        fit_rule, apply_rule = self._rule()
        rounds = self._check_params()
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D of shape (n_samples,); got shape {y.shape}")
        models, stack, classes = _as_stack(oof, classes if classes is not None else
                                           _default_classes(oof, y))
        if len(y) != stack.shape[1]:
            raise ValueError(f"y has {len(y)} labels but the OOF probabilities have "
                             f"{stack.shape[1]} rows")
        if len(y) < 2:
            raise ValueError(f"blending needs at least 2 OOF rows; got {len(y)}")
        y_idx = label_indices(y, classes)
        self.models_, self.classes_ = models, classes
        self.params_ = fit_rule(stack, y_idx, rounds)
        self.weights_ = self.params_.get("weights")
        self.model_scores_ = {name: _scores(y_idx, proba)
                              for name, proba in zip(models, stack, strict=True)}
        self.oof_blend_, folds = self._cross_validated(stack, y_idx, fit_rule, apply_rule, rounds)
        self.cv_scores_ = dict(_scores(y_idx, self.oof_blend_), folds=folds)
        self.correlation_ = _correlation(stack)
        self.comparison_ = compare_to_best_member(y_idx, self.oof_blend_, dict(zip(
            models, stack, strict=True)), np.arange(len(classes)))
        best = min(self.model_scores_, key=lambda name: self.model_scores_[name]["log_loss"])
        self.fallback_ = (best if self.fallback == "best_model" and
                          self.model_scores_[best]["log_loss"] < self.cv_scores_["log_loss"]
                          else None)
        return self

    @_one_blas_thread
    def predict_proba(self, predictions):
        """Blend each model's probabilities.

        Parameters
        ----------
        predictions : dict of str to array-like of shape (n_samples, n_classes)
            One entry per model of ``models_`` (others are refused), columns
            in the order of ``classes_`` (or DataFrames naming them).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows summing to one, columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        _, apply_rule = self._rule()
        missing = [name for name in self.models_ if name not in predictions]
        extra = [name for name in predictions if name not in self.models_]
        if missing or extra:
            raise ValueError(f"the blend was fitted on the models {self.models_}; "
                             + (f"missing {missing}" if missing else f"unknown {extra}"))
        _, stack, _ = _as_stack({name: predictions[name] for name in self.models_},
                                self.classes_)
        if getattr(self, "fallback_", None) is not None:
            return stack[self.models_.index(self.fallback_)]
        return apply_rule(stack, self.params_)

    def predict(self, predictions):
        """The most probable class of each row of the blend.

        Parameters
        ----------
        predictions : dict of str to array-like of shape (n_samples, n_classes)

        Returns
        -------
        ndarray of shape (n_samples,)
            Values of ``classes_``.
        """
        return self.classes_[self.predict_proba(predictions).argmax(axis=1)]

    def to_dict(self):
        """The learned blend as JSON-ready values (what ``blend --save-blend`` writes).

        Returns
        -------
        dict
            What :meth:`from_dict` reads back.
        """
        check_is_fitted(self)
        return {
            "format": FORMAT, "version": FORMAT_VERSION, "method": self.method,
            "params": self.get_params(), "models": list(self.models_),
            "classes": [_plain(label) for label in self.classes_],
            "learned": {key: value.tolist() for key, value in self.params_.items()},
            "model_scores": self.model_scores_, "cv_scores": self.cv_scores_,
            "fallback": self.fallback_,
        }

    @classmethod
    def from_dict(cls, data):
        """A fitted blender from :meth:`to_dict`'s values; refuses anything else.

        Parameters
        ----------
        data : dict

        Returns
        -------
        PredictionBlender
            Ready to predict; ``oof_blend_`` and ``correlation_`` are not kept.
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a saved blend: expected the format {FORMAT!r}")
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"a saved blend of version {data.get('version')!r}; this "
                             f"version reads {FORMAT_VERSION}")
        try:
            blender = cls(**data["params"])
            blender._rule()
            blender.models_ = [str(name) for name in data["models"]]
            blender.classes_ = np.asarray(data["classes"])
            blender.params_ = {key: np.asarray(value, dtype=np.float64)
                               for key, value in data["learned"].items()}
            blender.model_scores_, blender.cv_scores_ = data["model_scores"], data["cv_scores"]
            # Blends saved before the fallback existed have none.
            blender.fallback_ = data.get("fallback")
        except (KeyError, TypeError) as error:
            raise ValueError(f"a damaged saved blend: {error!r}") from None
        if blender.fallback_ is not None and blender.fallback_ not in blender.models_:
            raise ValueError(f"a damaged saved blend: its fallback {blender.fallback_!r} is "
                             "not one of its models")
        blender.weights_ = blender.params_.get("weights")
        expected = {"stacking": {"coef", "intercept"}}.get(blender.method, {"weights"})
        if set(blender.params_) != expected:
            raise ValueError(f"a damaged saved blend: {blender.method!r} needs "
                             f"{sorted(expected)}, found {sorted(blender.params_)}")
        return blender

    def _rule(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {self.method!r}")
        return METHODS[self.method]

    def _check_params(self):
        if self.fallback not in ("best_model", None):
            raise ValueError(f"fallback must be 'best_model' or None; got {self.fallback!r}")
        for name in ("rounds", "cv"):
            value = getattr(self, name)
            minimum = 2 if name == "cv" else 1
            check_int(value, name, minimum=minimum)
        return int(self.rounds)

    def _cross_validated(self, stack, y_idx, fit_rule, apply_rule, rounds):
        """Each OOF row predicted by the rule fitted on the other folds."""
        n_folds = min(self.cv, len(y_idx))
        counts = np.bincount(y_idx)
        splitter = (StratifiedKFold if counts[counts > 0].min() >= n_folds else KFold)(
            n_splits=n_folds, shuffle=True, random_state=self.random_state)
        blended = np.zeros(stack.shape[1:])
        for train, held_out in splitter.split(np.zeros(len(y_idx)), y_idx):
            params = fit_rule(stack[:, train], y_idx[train], rounds)
            blended[held_out] = apply_rule(stack[:, held_out], params)
        return blended, n_folds


# --------------------------------------------------------------------- helpers
def _default_classes(oof, y):
    first = next(iter(oof.values()), None) if isinstance(oof, dict) else None
    if hasattr(first, "columns"):
        return None  # the DataFrame names them
    return np.unique(y)


def _as_stack(predictions, classes):
    """``(names, stack of shape (n_models, n_samples, n_classes), classes)``."""
    if not isinstance(predictions, dict) or not predictions:
        raise TypeError("predictions must be a non-empty dict {model name: probabilities}; "
                        f"got {type(predictions).__name__}")
    names, arrays = [], []
    for name, proba in predictions.items():
        if hasattr(proba, "columns"):  # a DataFrame: its columns name the classes
            columns = [str(c) for c in proba.columns]
            if classes is None:
                classes = np.asarray(list(proba.columns))
            wanted = [str(_plain(c)) for c in classes]
            if sorted(columns) != sorted(wanted):
                raise ValueError(f"model {name!r}: the columns {columns} are not the classes "
                                 f"{wanted}")
            proba = proba.to_numpy()[:, [columns.index(c) for c in wanted]]
        proba = np.asarray(proba, dtype=np.float64)
        if proba.ndim != 2 or (classes is not None and proba.shape[1] != len(classes)):
            raise ValueError(f"model {name!r}: probabilities must have shape (n_samples, "
                             f"{len(classes) if classes is not None else 'n_classes'}); got "
                             f"{proba.shape}")
        if arrays and proba.shape[0] != arrays[0].shape[0]:
            raise ValueError(f"model {name!r} has {proba.shape[0]} rows; model {names[0]!r} "
                             f"has {arrays[0].shape[0]}")
        bad = ~np.isfinite(proba) | (proba < 0) | (proba > 1)
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise ValueError(f"model {name!r}, row {row}, column {column}: "
                             f"{proba[row, column]!r} is not a probability in [0, 1]")
        sums = proba.sum(axis=1, keepdims=True)
        if np.any(sums == 0):
            raise ValueError(f"model {name!r}, row {int(np.argmin(sums[:, 0]))}: every "
                             "probability is 0; the row cannot be renormalised")
        names.append(str(name))
        # Renormalised once here: files round their probabilities, float32 softmax rows
        # sum to 1 +- 1e-7, and every rule then sees rows summing to exactly one.
        arrays.append(proba / sums)
    return names, np.stack(arrays), np.asarray(classes)


def _correlation(stack):
    """Pearson correlation between the models' flattened probabilities.

    One matrix product of the centred rows: ``np.corrcoef`` makes transposed
    and conjugated copies and takes ~30x longer on 20 x 1,000,000 values.
    """
    flat = stack.reshape(len(stack), -1)
    centred = flat - flat.mean(axis=1, keepdims=True)
    gram = centred @ centred.T
    norms = np.sqrt(np.diag(gram))
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant model: NaN, as corrcoef
        return np.clip(gram / np.outer(norms, norms), -1.0, 1.0)


def _scores(y_idx, proba):
    positions = np.arange(proba.shape[1])  # y_idx are column positions
    return {"log_loss": metrics.log_loss(y_idx, proba, positions),
            "accuracy": metrics.accuracy(y_idx, proba, positions)}


def _plain(value):
    return value.item() if hasattr(value, "item") else value
