"""An ensemble in an archive: its manifest entry, blend arrays and meta-learner, side by side."""

import io
import json
import zipfile

import numpy as np
import skops.io
from sklearn.base import clone
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ensemble.combiners import ABSTENTION_SCORES, StackingEnsemble, WeightedAverageEnsemble
from ensemble.combiners.budget import PLAN_KEYS as BUDGET_PLAN_KEYS
from ensemble.combiners.cascade import RULE_KEYS as CASCADE_RULE_KEYS
from ensemble.persistence._archive import BLEND_FILE, FINAL_ESTIMATOR_FILE
from ensemble.persistence._member_schema import build_member, check_member_spec, describe_member
from ensemble.persistence._values import (
    allowed_class,
    check_feature_names,
    check_params_spec,
    decode_labels,
    encode_feature_names,
    encode_labels,
    expect,
    float_dtype,
    plain_label_array,
    restore_label_array,
    restored_params,
    split_params,
)
from members.utils.checks import is_int, is_real

ENSEMBLE_CLASSES = {cls.__name__: cls for cls in (WeightedAverageEnsemble, StackingEnsemble)}
#: Meta-learners a stacking archive may hold (the skops payload's top-level type).
FINAL_ESTIMATOR_TYPES = frozenset({
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
})


#: Types trusted beyond skops's defaults (scikit-learn estimators, NumPy
#: arrays and dtypes, builtins): the trees of the forest meta-learners.
#: ``skops.io.get_untrusted_types`` reports none for a LogisticRegression.
SKOPS_TRUSTED_TYPES = ("sklearn.tree._tree.Tree",)


def describe_ensemble(ensemble, files):
    check_is_fitted(ensemble)
    params = ensemble.get_params(deep=False)
    members_param = params.pop("members")
    final_param = params.pop("final_estimator", None)
    params, unrestored, tuple_params = split_params(params)

    names = list(ensemble.named_members_)
    if len(names) != len(ensemble.members_) or any(
        ensemble.named_members_[name] is not member
        for name, member in zip(names, ensemble.members_, strict=True)
    ):
        raise ValueError("named_members_ and members_ disagree; refit the ensemble.")
    layout = _members_layout(members_param, names)
    member_specs = [
        describe_member(member, index, files, f"member {name!r}")
        for index, (name, member) in enumerate(zip(names, ensemble.members_, strict=True))
    ]
    spec = {
        "class": type(ensemble).__name__,
        "params": params,
        "unrestored_params": unrestored,
        "tuple_params": tuple_params,
        "classes": encode_labels(ensemble.classes_, "classes_"),
        "n_features_in": int(ensemble.n_features_in_),
        "feature_names_in": encode_feature_names(ensemble),
        "members": layout,
        "member_specs": member_specs,
        "network_fits": int(ensemble.network_fits_),
        "temperature": float(getattr(ensemble, "temperature_", 1.0)),
        "blend": _blend_spec(ensemble, files),
    }
    if hasattr(ensemble, "selection_"):
        spec["selection"] = _selection_spec(ensemble)
    if hasattr(ensemble, "abstention_"):
        spec["abstention"] = _abstention_spec(ensemble.abstention_, len(member_specs))
    if hasattr(ensemble, "cascade_"):
        spec["cascade"] = _cascade_spec(ensemble.cascade_, names)
    if hasattr(ensemble, "budget_plan_"):
        spec["budget_plan"] = _budget_plan_spec(ensemble.budget_plan_, names)
    if isinstance(ensemble, WeightedAverageEnsemble):
        weights = np.asarray(ensemble.weights_)
        if weights.dtype.kind != "f":
            raise TypeError(f"weights_ must be floats, got dtype {weights.dtype}.")
        spec["weights"] = {"dtype": weights.dtype.str, "values": weights.tolist()}
    else:
        data = skops.io.dumps(ensemble.final_estimator_)
        try:
            _check_skops_payload(data)
        except ValueError as error:
            raise TypeError(f"Can't save this final_estimator_: {error}") from None
        files[FINAL_ESTIMATOR_FILE] = data
        # The fitted meta-learner is a fitted clone of the parameter, so an unfitted
        # clone of it restores the parameter without storing another object.
        spec["final_estimator_param"] = "none" if final_param is None else "clone_of_fitted"
    return spec


def _selection_spec(ensemble):
    """What the cross-fitting over the blending rows chose, and every candidate's scores."""
    return {
        "chosen": str(ensemble.selection_),
        "best_member": str(ensemble.best_member_),
        "folds": int(ensemble.selection_folds_),
        "scores": {str(name): {key: float(value) for key, value in scores.items()}
                   for name, scores in ensemble.selection_scores_.items()},
    }


def _check_selection_spec(selection, names):
    """Archives written before blends were chosen by cross-fitting have none."""
    if selection is None:
        return
    expect(isinstance(selection, dict) and isinstance(selection.get("chosen"), str),
           "selection.chosen must be a string")
    expect(selection.get("best_member") in names, "selection.best_member must name a member")
    expect(is_int(selection.get("folds")) and selection["folds"] >= 0,
           "selection.folds must be an int >= 0")
    scores = selection.get("scores")
    expect(isinstance(scores, dict) and all(
        isinstance(name, str) and isinstance(entry, dict)
        and all(isinstance(key, str) and is_real(value) for key, value in entry.items())
        for name, entry in scores.items()), "selection.scores must map names to scores")


def _abstention_spec(abstention, n_members):
    """The rule of ``set_abstention``, checked as it will be on load."""
    spec = {key: abstention.get(key) for key in ABSTENTION_KEYS}
    try:
        _check_abstention_spec(spec, n_members)
    except ValueError as error:
        raise TypeError(f"Can't save this abstention_: {error}") from None
    return spec


#: What an abstention rule records (``set_abstention``).
ABSTENTION_KEYS = ("score", "threshold", "member_weights", "target_accuracy",
                   "target_coverage", "coverage", "accuracy", "n_rows", "rows")


def _check_abstention_spec(abstention, n_members):
    """Archives written before abstention rules existed have none."""
    if abstention is None:
        return
    expect(isinstance(abstention, dict) and set(abstention) == set(ABSTENTION_KEYS),
           f"abstention must hold exactly {list(ABSTENTION_KEYS)}")
    expect(abstention["score"] in ABSTENTION_SCORES,
           f"abstention.score must be one of {list(ABSTENTION_SCORES)}")
    weights = abstention["member_weights"]
    expect(isinstance(weights, list) and len(weights) == n_members
           and all(is_real(w) and w >= 0 for w in weights) and sum(weights) > 0,
           "abstention.member_weights must hold one non-negative number per member")
    for key in ("threshold", "coverage", "accuracy"):
        expect(is_real(abstention[key]), f"abstention.{key} must be a number")
    for key in ("target_accuracy", "target_coverage"):
        expect(abstention[key] is None or is_real(abstention[key]),
               f"abstention.{key} must be a number or null")
    expect(is_int(abstention["n_rows"]) and abstention["n_rows"] >= 1,
           "abstention.n_rows must be an int >= 1")
    expect(abstention["rows"] in ("blending", "given"),
           "abstention.rows must be 'blending' or 'given'")


def _cascade_spec(cascade, names):
    """The rule of ``set_cascade``; an infinite threshold (never early) is stored as null."""
    spec = {key: cascade.get(key) for key in CASCADE_RULE_KEYS}
    if is_real(spec["threshold"], finite=False) and spec["threshold"] == float("inf"):
        spec["threshold"] = None
    try:
        _check_cascade_spec(spec, names)
    except ValueError as error:
        raise TypeError(f"Can't save this cascade_: {error}") from None
    return spec


def _budget_plan_spec(plan, names):
    """The plan of a ``time_limit`` fit, as JSON (it is a record, not something that predicts)."""
    try:
        spec = json.loads(json.dumps(plan, allow_nan=False))
        _check_budget_plan_spec(spec, names)
    except (TypeError, ValueError) as error:
        raise TypeError(f"Can't save this budget_plan_: {error}") from None
    return spec


def _check_budget_plan_spec(plan, names):
    """Archives written before time budgets existed, or fitted without one, have none."""
    if plan is None:
        return
    expect(isinstance(plan, dict) and set(plan) == set(BUDGET_PLAN_KEYS),
           f"budget_plan must hold exactly {list(BUDGET_PLAN_KEYS)}")
    expect(is_real(plan["time_limit"]) and plan["time_limit"] > 0,
           "budget_plan.time_limit must be a positive number")
    expect(isinstance(plan["chosen"], str) and isinstance(plan["why"], str),
           "budget_plan.chosen and budget_plan.why must be strings")
    expect(isinstance(plan["race"], dict), "budget_plan.race must be an object")
    expect(isinstance(plan["members"], list)
           and [entry.get("name") if isinstance(entry, dict) else None
                for entry in plan["members"]] == list(names),
           "budget_plan.members must name the ensemble's members, in order")


def _check_cascade_spec(cascade, names):
    """Archives written before cascade rules existed have none."""
    if cascade is None:
        return
    expect(isinstance(cascade, dict) and set(cascade) == set(CASCADE_RULE_KEYS),
           f"cascade must hold exactly {list(CASCADE_RULE_KEYS)}")
    expect(cascade["first_member"] in names, "cascade.first_member must name a member")
    expect(cascade["threshold"] is None or is_real(cascade["threshold"]),
           "cascade.threshold must be a number or null")
    for key in ("tolerance", "accuracy", "ensemble_accuracy", "first_stage_share"):
        expect(is_real(cascade[key]) and 0 <= cascade[key] <= 1,
               f"cascade.{key} must be a number in [0, 1]")
    expect(is_int(cascade["n_rows"]) and cascade["n_rows"] >= 1,
           "cascade.n_rows must be an int >= 1")


def _members_layout(members_param, names):
    """``members`` as [{"name", "index"} or {"name", "drop": true}], in the parameter's order."""
    try:
        entries = [(name, est) for name, est in members_param]
    except (TypeError, ValueError):
        entries = None
    if entries is not None:
        kept = [name for name, est in entries if not (isinstance(est, str) and est == "drop")]
        if kept == names:
            return [
                {"name": name, "drop": True} if isinstance(est, str) and est == "drop"
                else {"name": name, "index": names.index(name)}
                for name, est in entries
            ]
    # The parameter was changed after fit: keep what predicts, the fitted members.
    return [{"name": name, "index": index} for index, name in enumerate(names)]


def _blend_spec(ensemble, files):
    if not hasattr(ensemble, "blend_predictions_"):
        return {"included": False}
    predictions = np.asarray(ensemble.blend_predictions_, dtype=np.float64)
    targets = np.asarray(ensemble.blend_targets_)
    expected = (len(ensemble.members_), len(targets), len(ensemble.classes_))
    if predictions.shape != expected:
        raise ValueError(
            f"blend_predictions_ has shape {predictions.shape}, expected {expected}; "
            "refit the ensemble."
        )
    encoded = encode_labels(targets, "blend_targets_", values=False)
    buffer = io.BytesIO()
    np.savez(buffer, predictions=predictions, targets=plain_label_array(targets))
    files[BLEND_FILE] = buffer.getvalue()
    return {"included": True, "targets": encoded}


def check_ensemble_spec(spec, contents):
    cls = allowed_class(spec.get("class"), ENSEMBLE_CLASSES, "estimator")
    check_params_spec(spec, cls, "estimator")
    for name in ("members", "final_estimator"):
        expect(name not in spec["params"], f"{name} is not a plain parameter")
    classes = decode_labels(spec.get("classes"), "classes")
    expect(len(classes) >= 2, "an ensemble must have at least two classes")
    n_features = spec.get("n_features_in")
    expect(is_int(n_features) and n_features >= 1, "n_features_in must be an int >= 1")
    check_feature_names(spec.get("feature_names_in"), n_features, "estimator")
    expect(is_int(spec.get("network_fits")) and spec["network_fits"] >= 0,
            "network_fits must be an int >= 0")
    # Archives written before temperature scaling have none: 1 leaves the blend as it is.
    temperature = spec.get("temperature", 1.0)
    expect(is_real(temperature) and temperature > 0,
            "temperature must be a positive number")

    member_specs = spec.get("member_specs")
    expect(isinstance(member_specs, list) and member_specs, "member_specs must be a list")
    for index, member_spec in enumerate(member_specs):
        member_classes = check_member_spec(member_spec, index, f"member_specs[{index}]")
        expect(np.isin(member_classes, classes).all(),
                f"member_specs[{index}] has classes outside the ensemble's")
        expect(member_spec["n_features_in"] == n_features,
                f"member_specs[{index}].n_features_in differs from the ensemble's")
    layout = spec.get("members")
    expect(isinstance(layout, list) and layout, "members must be a list")
    names, indices = [], []
    for entry in layout:
        expect(isinstance(entry, dict) and isinstance(entry.get("name"), str)
                and entry["name"] and "__" not in entry["name"], "invalid members entry")
        names.append(entry["name"])
        if entry.get("drop") is True:
            expect(set(entry) == {"name", "drop"}, "invalid members entry")
        else:
            expect(set(entry) == {"name", "index"} and is_int(entry["index"]),
                    "invalid members entry")
            indices.append(entry["index"])
    expect(len(set(names)) == len(names), "member names must be unique")
    expect(indices == list(range(len(member_specs))),
            "members must name every member once, in order")
    _check_selection_spec(spec.get("selection"),
                          [entry["name"] for entry in layout if "index" in entry])
    _check_abstention_spec(spec.get("abstention"), len(member_specs))
    _check_cascade_spec(spec.get("cascade"),
                        [entry["name"] for entry in layout if "index" in entry])
    _check_budget_plan_spec(spec.get("budget_plan"),
                            [entry["name"] for entry in layout if "index" in entry])

    expected = {f"members/{index}.keras" for index in range(len(member_specs))}
    n_classes = len(classes)
    if cls is WeightedAverageEnsemble:
        weights = spec.get("weights")
        expect(isinstance(weights, dict) and float_dtype(weights.get("dtype"))
                and isinstance(weights.get("values"), list)
                and len(weights["values"]) == len(member_specs)
                and all(is_real(value, finite=False) for value in weights["values"]),
                "weights must hold one float per member")
    else:
        expect(spec.get("final_estimator_param") in ("none", "clone_of_fitted"),
                "final_estimator_param must be 'none' or 'clone_of_fitted'")
        expected.add(FINAL_ESTIMATOR_FILE)
        if FINAL_ESTIMATOR_FILE in contents:
            _check_skops_payload(contents[FINAL_ESTIMATOR_FILE])

    blend = spec.get("blend")
    expect(isinstance(blend, dict) and isinstance(blend.get("included"), bool),
            "blend must say whether the blending predictions are included")
    if blend["included"]:
        expected.add(BLEND_FILE)
        decode_labels(blend.get("targets"), "blend.targets", values=False)
        if BLEND_FILE in contents:
            _read_blend(contents[BLEND_FILE], blend["targets"], len(member_specs), n_classes)
    return expected


def _check_skops_payload(data):
    """Refuse a meta-learner whose types are outside the allow-lists."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as payload:
            schema = json.loads(payload.read("schema.json"))
        top = f"{schema['__module__']}.{schema['__class__']}"
        untrusted = skops.io.get_untrusted_types(data=data)
    except Exception as error:  # noqa: BLE001 - any failure here is a bad payload
        raise ValueError(f"{FINAL_ESTIMATOR_FILE} is not a valid skops payload: {error}") from None
    if top not in FINAL_ESTIMATOR_TYPES:
        raise ValueError(
            f"{FINAL_ESTIMATOR_FILE} holds a {top}, which is not an allowed meta-learner "
            f"{sorted(FINAL_ESTIMATOR_TYPES)}."
        )
    refused = sorted(set(untrusted) - set(SKOPS_TRUSTED_TYPES))
    if refused:
        raise ValueError(
            f"{FINAL_ESTIMATOR_FILE} holds types outside the allow-list: {refused}."
        )


def build_ensemble(spec, contents):
    cls = ENSEMBLE_CLASSES[spec["class"]]
    members = [
        build_member(member_spec, contents, index, _member_label(spec, index))
        for index, member_spec in enumerate(spec["member_specs"])
    ]
    layout = [
        (entry["name"], "drop" if entry.get("drop") else members[entry["index"]])
        for entry in spec["members"]
    ]
    params = restored_params(spec)
    params["members"] = layout
    final_estimator = None
    if cls is StackingEnsemble:
        try:
            final_estimator = skops.io.loads(contents[FINAL_ESTIMATOR_FILE],
                                             trusted=list(SKOPS_TRUSTED_TYPES))
        except Exception as error:  # noqa: BLE001
            raise ValueError(f"{FINAL_ESTIMATOR_FILE} refused to load: {error}") from error
        if not hasattr(final_estimator, "predict_proba"):
            raise ValueError(f"{FINAL_ESTIMATOR_FILE} holds no classifier with predict_proba.")
        if spec["final_estimator_param"] == "clone_of_fitted":
            params["final_estimator"] = clone(final_estimator)
    estimator = cls(**params)
    estimator.classes_ = decode_labels(spec["classes"], "classes")
    estimator.n_features_in_ = spec["n_features_in"]
    if spec.get("feature_names_in") is not None:
        estimator.feature_names_in_ = np.asarray(spec["feature_names_in"], dtype=object)
    estimator.members_ = members
    estimator.named_members_ = Bunch(**{
        entry["name"]: members[entry["index"]] for entry in spec["members"] if "index" in entry
    })
    estimator.network_fits_ = spec["network_fits"]
    estimator.temperature_ = float(spec.get("temperature", 1.0))
    if spec.get("selection") is not None:
        selection = spec["selection"]
        estimator.selection_ = selection["chosen"]
        estimator.best_member_ = selection["best_member"]
        estimator.selection_folds_ = selection["folds"]
        estimator.selection_scores_ = {name: dict(entry)
                                       for name, entry in selection["scores"].items()}
    if spec.get("abstention") is not None:
        estimator.abstention_ = dict(spec["abstention"])
    if spec.get("cascade") is not None:
        rule = dict(spec["cascade"])
        rule["threshold"] = float("inf") if rule["threshold"] is None else rule["threshold"]
        estimator.cascade_ = rule
    if spec.get("budget_plan") is not None:
        estimator.budget_plan_ = spec["budget_plan"]
    if spec["blend"]["included"]:
        predictions, targets = _read_blend(contents[BLEND_FILE], spec["blend"]["targets"],
                                           len(members), len(estimator.classes_))
        estimator.blend_predictions_ = predictions
        estimator.blend_targets_ = targets
    if cls is WeightedAverageEnsemble:
        estimator.weights_ = np.asarray(spec["weights"]["values"],
                                        dtype=np.dtype(spec["weights"]["dtype"]))
    else:
        estimator.final_estimator_ = final_estimator
    return estimator


def _member_label(spec, index):
    for entry in spec["members"]:
        if entry.get("index") == index:
            return f"member {entry['name']!r}"
    return f"member {index}"  # pragma: no cover - the checks ensure a name


def _read_blend(data, targets_spec, n_members, n_classes):
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            expect(sorted(npz.files) == ["predictions", "targets"],
                    f"{BLEND_FILE} must hold exactly 'predictions' and 'targets'")
            predictions = npz["predictions"]
            targets = npz["targets"]
    except Exception as error:  # noqa: BLE001 - corrupt npz: zip, header or shape errors
        raise ValueError(f"{BLEND_FILE} is invalid: {error}") from None
    expect(predictions.dtype == np.float64 and predictions.ndim == 3
            and predictions.shape[0] == n_members and predictions.shape[2] == n_classes,
            f"{BLEND_FILE}: predictions must be float64 of shape (n_members, n_blend, n_classes)")
    expect(targets.ndim == 1 and len(targets) == predictions.shape[1],
            f"{BLEND_FILE}: targets must be 1-d with one label per blending row")
    return predictions, restore_label_array(targets, targets_spec)
