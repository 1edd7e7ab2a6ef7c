"""What a stored study searches: checked before a search, recorded, compared on resume.

A study in a database may be resumed by another process, another day. Its
trials compare only if they search the same space, score the same way on
the same split, and train the same estimator, so the study records a
fingerprint of all that (:func:`search_fingerprint`, the study user
attribute :data:`FINGERPRINT_ATTR`) and a search with other settings is
refused before any trial (:func:`open_study`).
"""

import hashlib
import json
import numbers

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, distribution_to_json

from members.utils.fingerprints import OUTPUT_ONLY_PARAMS, stable_repr, without_addresses
from members.utils.kinds import is_keras_member

#: User attribute of the study recording what it searches (checked on resume).
FINGERPRINT_ATTR = "keras_ensembles_search"
#: Estimator parameters (nested ones by their last name part) that change neither what a
#: trial trains nor its score: a resumed study may be given other values.
PARAMS_FREE_ON_RESUME = OUTPUT_ONLY_PARAMS | {"n_jobs"}


def check_distributions(distributions, valid_names, estimator):
    """Clear errors for a malformed search space, before any training.

    Parameters
    ----------
    distributions : dict of str to optuna.distributions.BaseDistribution
        The search space.
    valid_names : set of str
        The parameters the estimator takes (``set(estimator.get_params())``,
        with ``deep=True`` for nested names).
    estimator : estimator object
        Named in the error for a parameter it does not take.

    Raises
    ------
    TypeError
        Not a dict, or a value that is not an Optuna distribution.
    ValueError
        Empty, or a name that is not a parameter of ``estimator``.
    """
    if not isinstance(distributions, dict):
        raise TypeError(f"param_distributions must be a dict of {{name: optuna distribution}}, "
                        f"got {type(distributions).__name__}.")
    if not distributions:
        raise ValueError("param_distributions must name at least one parameter.")
    for name, distribution in distributions.items():
        if not isinstance(distribution, BaseDistribution):
            raise TypeError(
                f"param_distributions[{name!r}] must be an optuna distribution "
                "(optuna.distributions.FloatDistribution, IntDistribution or "
                f"CategoricalDistribution), got {distribution!r}."
            )
        if name not in valid_names:
            raise ValueError(
                f"Invalid parameter {name!r} for estimator {type(estimator).__name__}. "
                f"Valid parameters are: {sorted(valid_names)!r}."
            )


def search_fingerprint(distributions, scoring, estimator, *, cv, holdout, random_state,
                       splits=None):
    """What a study searches and how its trials are scored: a resume with anything else is refused.

    Besides the search space, the scoring and the estimator's class, the
    estimator's parameters that are not searched (``epochs``, a member's
    seed, ...) and the split every trial is scored on (``cv``, or
    ``holdout`` and the seed that draws it) decide what a trial's score
    means. Parameters in :data:`PARAMS_FREE_ON_RESUME` are left out.
    Everything is plain JSON (stored in the study), and no text holds a
    memory address, so that other processes compute the same.

    Parameters
    ----------
    distributions : dict
    scoring : str, callable or None
    estimator : estimator object
    cv : int, splitter or None
    holdout : float or int
    random_state : int or None
        The seed the search draws its holdout split with.
    splits : list of (ndarray, ndarray) or None
        The splits made from ``cv`` when it is an iterable of splits rather
        than an int or a splitter: they are recorded by a digest.

    Returns
    -------
    dict
    """
    return {
        "estimator": type(estimator).__name__,
        "estimator_params": estimator_settings(estimator, distributions),
        "scoring": scoring if scoring is None or isinstance(scoring, str)
        else without_addresses(scoring),
        "cv": _cv_text(cv, splits),
        # The holdout rows depend on these only when there is no cv.
        "holdout": _json_number(holdout) if cv is None else None,
        "random_state": random_state if cv is None else None,
        "search_space": {name: json.loads(distribution_to_json(distribution))
                         for name, distribution in sorted(distributions.items())},
    }


def estimator_settings(estimator, distributions):
    """``{parameter: text}``: the estimator's parameters (nested ones too) that are not searched.

    A nested estimator (a combiner's member) appears as its class name; its
    own parameters appear under their nested names. Values are described by
    :func:`members.utils.fingerprints.stable_repr` (functions by their code) when the
    estimator is or holds a Keras member -- its module is loaded then -- and
    by their repr without memory addresses otherwise, so that a search of a
    scikit-learn model never imports TensorFlow.
    """
    params = estimator.get_params(deep=True)
    describe = _value_describer(estimator, params)
    return {name: _describe(value, describe) for name, value in sorted(params.items())
            if name not in distributions and name.rsplit("__", 1)[-1] not in PARAMS_FREE_ON_RESUME}


def _value_describer(estimator, params):
    if any(is_keras_member(value) for value in [estimator, *params.values()]):
        return stable_repr
    return without_addresses


def _describe(value, describe):
    if hasattr(value, "get_params") and not isinstance(value, type):
        return type(value).__name__
    if isinstance(value, (list, tuple)) and any(_holds_estimator(item) for item in value):
        return "[" + ", ".join(_describe(item, describe) for item in value) + "]"
    return describe(value)


def _holds_estimator(value):
    if isinstance(value, (list, tuple)):
        return any(_holds_estimator(item) for item in value)
    return hasattr(value, "get_params") and not isinstance(value, type)


def _cv_text(cv, splits):
    if cv is None or isinstance(cv, numbers.Integral):
        return _json_number(cv)
    if hasattr(cv, "split") or splits is None:
        return without_addresses(cv)  # a splitter's repr holds its settings
    digest = hashlib.sha256()
    for train, valid in splits:
        for rows in (train, valid):
            digest.update(np.asarray(rows, dtype=np.int64).tobytes() + b"|")
    return f"{len(splits)} given splits, sha256 {digest.hexdigest()[:16]}"


def _json_number(value):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value)


def fingerprint_changes(recorded, fingerprint):
    """What differs between a study's recorded fingerprint and this search's, as short texts.

    Returns
    -------
    list of str
        ``["epochs 1 (now 2)", "holdout 0.2 (now 0.3)", ...]``; empty when
        they match.
    """
    changes = []
    for key, value in fingerprint.items():
        before = recorded.get(key, "missing")
        if before == value:
            continue
        if key == "estimator_params" and isinstance(before, dict):
            if recorded.get("estimator") != fingerprint["estimator"]:
                continue  # another class: its parameters differ anyway
            for name in sorted(set(before) | set(value)):
                if before.get(name) != value.get(name):
                    changes.append(f"{name} {before.get(name, 'missing')} "
                                   f"(now {value.get(name, 'missing')})")
        else:
            changes.append(f"{key} {before!r} (now {value!r})")
    return changes


def open_study(storage, study_name, sampler, pruner, fingerprint):
    """Create the study, or load it from ``storage`` if it exists and searches the same thing.

    Raises
    ------
    ValueError
        The stored study searches another space, estimator or score, scores
        its trials on another split, or minimises.
    """
    study = optuna.create_study(storage=storage, study_name=study_name, sampler=sampler,
                                pruner=pruner, direction="maximize", load_if_exists=True)
    where = f"study {study.study_name!r}"
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ValueError(f"{where} minimises its objective; a search maximises its score. "
                         "Use another study_name.")
    if FINGERPRINT_ATTR not in study.user_attrs and not study.get_trials(deepcopy=False):
        study.set_user_attr(FINGERPRINT_ATTR, fingerprint)
        return study
    # Read again: a process starting at the same time may have just recorded it.
    recorded = study.user_attrs.get(FINGERPRINT_ATTR)
    if recorded is None:
        raise ValueError(f"{where} already holds trials of another program; use another "
                         "study_name.")
    changes = fingerprint_changes(recorded, fingerprint)
    if changes:
        raise ValueError(
            f"{where} was created with other settings, so its trials would not compare: "
            f"{'; '.join(changes)}. Resume it with the same settings, or use another "
            "study_name (the study was left as it was)."
        )
    return study
