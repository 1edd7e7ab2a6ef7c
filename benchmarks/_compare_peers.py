"""The rows of ``benchmarks/compare.py``'s comparison table: our ensembles and their peers.

Ours: each default member alone, the log-loss ensemble, the combiners learned
from its kept blending predictions (equal, Caruana, held-out stacking), a
second log-loss ensemble on the subset, and stacking on out-of-fold
predictions. The peers, the tools people would use instead, over the same
member networks: scikit-learn's soft ``VotingClassifier`` and
``StackingClassifier``; ``keras.wrappers.SKLearnClassifier`` in a soft
``VotingClassifier``, as shipped and with the two fixes it needs; and
scikeras's ``KerasClassifier`` when it imports. :func:`comparison_rows` runs
them all, in :data:`_compare_rows.ROWS` order.
"""

import copy
import math

import numpy as np

from _common import Timer
from _compare_plan import chosen_members, one_line
from _compare_rows import (
    NetworkFitLog,
    add_relative_times,
    fit_and_score,
    new_row,
    peer_row,
    report_progress,
    score_into,
    settle_fit_count,
    skipped,
)
from ensemble.demo import default_members


# ---------------------------------------------------------------- our rows
def log_loss_ensemble(row_id, group, data, args):
    """Our learned-weight ensemble: the members trained once on 90 % of the rows."""
    from ensemble import WeightedAverageEnsemble

    row = new_row(row_id, group, data, args)
    estimator = WeightedAverageEnsemble(
        chosen_members(args, args.epochs), weighting="log_loss", holdout=0.1,
        n_jobs=args.n_jobs, random_state=args.seed)
    log = NetworkFitLog()
    row, learned = fit_and_score(row, estimator, data, expected_fits=len(args.members), log=log)
    if learned is None:
        raise RuntimeError(f"the log-loss ensemble failed, nothing to compare to: {row['reason']}")
    settle_fit_count(row, args, own=learned.network_fits_)
    row["weights"] = [float(w) for w in learned.weights_]
    row["notes"].append("weights " + ", ".join(
        f"{name} {w:.2f}"
        for name, w in zip(learned.named_members_, learned.weights_, strict=True)))
    return row, learned, log


def member_rows(learned, log, data, args):
    """Each member alone: the members of the log-loss fit, trained on 90 % of the rows."""
    rows = []
    for name, member in learned.named_members_.items():
        row = new_row(name, "main", data, args)
        row["train_seconds"] = log.seconds_of(member.model_)
        row["network_fits"], row["fits_how"] = 1, "one member of the log-loss fit"
        epochs = len(member.history_["epoch"])
        row["notes"].append(f"trained inside the log-loss fit on 90 % of the rows, {epochs} "
                            "epoch(s); training s = its model.fit only")
        rows.append(score_into(row, member, data))
    return rows


def from_blend_rows(learned, reference, data, args):
    """Equal, Caruana and held-out stacking from the log-loss fit's kept predictions."""
    from ensemble import StackingEnsemble, WeightedAverageEnsemble

    makers = {
        "equal": lambda: WeightedAverageEnsemble.from_blend(learned, weighting="equal"),
        "caruana": lambda: WeightedAverageEnsemble.from_blend(learned, weighting="caruana"),
        "stacking-holdout": lambda: StackingEnsemble.from_blend(learned),
    }
    rows = []
    for row_id, make in makers.items():
        row = new_row(row_id, "main", data, args)
        if row_id in args.skip:
            rows.append(skipped(row))
            continue
        with Timer() as combiner_time:
            combiner = make()
        # From scratch, this row costs the members' training plus its own combiner.
        row["train_seconds"] = reference["train_seconds"] + combiner_time.seconds
        row["combiner_seconds"] = combiner_time.seconds
        row["network_fits"], row["new_network_fits"] = learned.network_fits_, combiner.network_fits_
        row["fits_how"] = "members of the log-loss fit"
        row["notes"].append(f"reuses the log-loss fit's members: {combiner_time.seconds:.3f} s "
                            f"and {combiner.network_fits_} network fits of its own")
        rows.append(score_into(row, combiner, data))
    return rows


def out_of_fold_stacking_row(data, args):
    """Our StackingEnsemble on out-of-fold predictions: k + 1 fits per member."""
    from ensemble import StackingEnsemble

    row = new_row("stacking-cv", "subset", data, args)
    estimator = StackingEnsemble(chosen_members(args, args.epochs), cv=args.cv,
                                 n_jobs=args.n_jobs)
    row, fitted = fit_and_score(row, estimator, data,
                                expected_fits=(args.cv + 1) * len(args.members))
    return settle_fit_count(row, args, own=None if fitted is None else fitted.network_fits_)


# --------------------------------------------------------------- peer rows
def sklearn_voting_row(data, args):
    """scikit-learn's soft voting over the same member estimators (cloned, refitted)."""
    from sklearn.ensemble import VotingClassifier

    estimator = VotingClassifier(chosen_members(args, args.epochs), voting="soft",
                                 n_jobs=args.n_jobs)
    return peer_row("sklearn-voting", estimator, data, args, expected_fits=len(args.members))


def sklearn_stacking_row(data, args):
    """scikit-learn's StackingClassifier: every member refitted k + 1 times."""
    from sklearn.ensemble import StackingClassifier

    estimator = StackingClassifier(chosen_members(args, args.epochs), cv=args.cv,
                                   n_jobs=args.n_jobs)
    return peer_row("sklearn-stacking", estimator, data, args,
                    expected_fits=(args.cv + 1) * len(args.members))


def member_network(member, n_features, n_classes, n_rows):
    """A member's own model, compiled as the member compiles it: the peers train the same thing.

    Flat raw rows -> square grey images -> /255 -> the member's augmentation
    layers -> its network, with its optimizer, weight decay and learning-rate
    schedule (the cosine schedule's length counted for ``n_rows`` training
    rows less the validation split).
    """
    side = math.isqrt(n_features)
    n_train = n_rows - math.ceil(member.validation_fraction * n_rows)
    steps_per_epoch = math.ceil(n_train / member.batch_size)
    return member.compiled_model((side, side, 1), n_classes, 1 / 255, steps_per_epoch,
                                  member.random_state)


def compiled_wrapper_network(X, y, *, member_name, seed):
    """The model function of ``keras.wrappers.SKLearnClassifier``: a member's network.

    Compiled here as SKLearnClassifier requires; it one-hot encodes ``y``,
    hence categorical cross-entropy (with the member's label smoothing).
    """
    import keras

    keras.utils.set_random_seed(seed)
    member = dict(default_members())[member_name]
    model = member_network(member, X.shape[1], y.shape[1], len(X))
    model.compile(optimizer=model.optimizer, metrics=["accuracy"],
                  loss=keras.losses.CategoricalCrossentropy(
                      label_smoothing=member.label_smoothing))
    return model


def member_fit_settings(member):
    """``model.fit`` keyword arguments matching a member's own training settings."""
    import keras

    callbacks = []
    if member.early_stopping_patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(
            patience=member.early_stopping_patience, restore_best_weights=True))
    if member.lr_schedule == "plateau" and member.reduce_lr_patience is not None:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            patience=member.reduce_lr_patience, factor=member.reduce_lr_factor,
            min_lr=member.min_lr))
    return {"epochs": member.epochs, "batch_size": member.batch_size,
            "validation_split": member.validation_fraction, "callbacks": callbacks, "verbose": 0}


def keras_wrapper_members(wrapper_class, args):
    """The three default networks as ``wrapper_class`` (SKLearnClassifier or a subclass)."""
    wrapped = []
    for name, member in chosen_members(args, args.epochs):
        wrapped.append((name, wrapper_class(
            model=compiled_wrapper_network,
            model_kwargs={"member_name": name, "seed": member.random_state},
            fit_kwargs=member_fit_settings(member))))
    return wrapped


def fixed_sklearn_classifier():
    """``keras.wrappers.SKLearnClassifier`` with the two fixes a soft VotingClassifier needs.

    Defined on first use: ``keras.wrappers`` imports TensorFlow.
    """
    from keras.wrappers import SKLearnClassifier
    from sklearn.utils.validation import check_is_fitted, validate_data

    class SKLearnClassifierWithFixes(SKLearnClassifier):
        """Keeps ``fit_kwargs`` through ``clone``; has ``predict_proba``."""

        def __sklearn_clone__(self):
            twin = super().__sklearn_clone__()
            twin.fit_kwargs = copy.deepcopy(self.fit_kwargs)
            return twin

        def predict_proba(self, X):
            check_is_fitted(self)
            X = validate_data(self, X, reset=False)
            # The networks end in a softmax over the one-hot columns, which
            # are the sorted classes_.
            proba = np.asarray(self.model_.predict(X, verbose=0), dtype=np.float64)
            return proba / proba.sum(axis=1, keepdims=True)

    return SKLearnClassifierWithFixes


def keras_voting_row(data, args):
    """What Keras ships: SKLearnClassifier members in a soft VotingClassifier, unmodified."""
    from keras.wrappers import SKLearnClassifier
    from sklearn.ensemble import VotingClassifier

    voter = VotingClassifier(keras_wrapper_members(SKLearnClassifier, args), voting="soft",
                             n_jobs=args.n_jobs)
    row = peer_row("keras-voting", voter, data, args, expected_fits=len(args.members),
                   quiet=True)
    row["notes"] += what_clone_kept(voter, len(data.y_subset))
    return row


def what_clone_kept(voter, n_rows):
    """Whether VotingClassifier's clones trained with the fit settings given, read from what ran.

    Returns
    -------
    list of str
        One note per distinct outcome over the fitted members.
    """
    notes = []
    for template, fitted in zip(voter.estimators, getattr(voter, "estimators_", []), strict=False):
        ran = getattr(getattr(fitted, "history_", None), "params", None) or {}
        steps = ran.get("steps")
        wanted = template[1].fit_kwargs
        note = (f"fit_kwargs after clone: {fitted.fit_kwargs!r}; each network trained "
                f"{ran.get('epochs')} epoch(s) of {steps} steps on {n_rows:,} rows (batch "
                f"{math.ceil(n_rows / steps) if steps else '?'}, no validation) instead of up to "
                f"{wanted['epochs']} epochs of batch {wanted['batch_size']} with early stopping")
        if note not in notes:
            notes.append(note)
    return notes


def keras_voting_fixed_row(data, args):
    """SKLearnClassifier members made to work: fit settings kept on clone, predict_proba."""
    from sklearn.ensemble import VotingClassifier

    voter = VotingClassifier(keras_wrapper_members(fixed_sklearn_classifier(), args),
                             voting="soft", n_jobs=args.n_jobs)
    row = peer_row("keras-voting-fixed", voter, data, args, expected_fits=len(args.members))
    row["notes"].append("subclass: fit_kwargs deep-copied in __sklearn_clone__, predict_proba "
                        "from the softmax; same epochs, batch size, optimizer, early stopping "
                        "and LR schedule as our members (Keras's unstratified validation_split)")
    return row


def scikeras_network(meta, *, member_name, seed):
    """scikeras model function: a member's network on flat raw rows, compiled as the member does."""
    import keras

    keras.utils.set_random_seed(seed)
    member = dict(default_members())[member_name]
    return member_network(member, meta["n_features_in_"], meta["n_classes_"],
                          meta["X_shape_"][0])


def scikeras_voting_row(data, args):
    """scikeras's KerasClassifier members in a soft VotingClassifier, if scikeras imports."""
    from sklearn.ensemble import VotingClassifier

    try:
        import scikeras
        from scikeras.wrappers import KerasClassifier
    except Exception as error:
        row = new_row("scikeras-voting", "subset", data, args)
        row["reason"] = f"not usable here: {one_line(error)}"
        return row
    members = []
    for name, member in chosen_members(args, args.epochs):
        settings = member_fit_settings(member)
        # The model function returns the member's compiled model; scikeras then
        # keeps its loss, optimizer and schedule.
        members.append((name, KerasClassifier(
            model=scikeras_network, model__member_name=name, model__seed=member.random_state,
            epochs=settings["epochs"], batch_size=settings["batch_size"],
            validation_split=settings["validation_split"], callbacks=settings["callbacks"],
            verbose=0)))
    voter = VotingClassifier(members, voting="soft", n_jobs=args.n_jobs)
    row = peer_row("scikeras-voting", voter, data, args, expected_fits=len(args.members))
    row["notes"].insert(0, f"scikeras {scikeras.__version__}")
    return row


# -------------------------------------------------------------- the table
def comparison_rows(data, args):
    """Every row of the comparison table, in :data:`_compare_rows.ROWS` order.

    Returns
    -------
    rows : list of dict
    learned : the fitted log-loss ensemble on the main training rows
    """
    reference, learned, log = log_loss_ensemble("log-loss", "main", data, args)
    if "members" in args.skip:
        rows = [skipped(new_row(name, "main", data, args)) for name in args.members]
    else:
        rows = member_rows(learned, log, data, args)
    rows.append(reference)
    rows += from_blend_rows(learned, reference, data, args)
    for row in rows:
        report_progress(row)
    if data.has_subset:
        subset_reference, _, _ = log_loss_ensemble("log-loss-subset", "subset", data, args)
        rows.append(report_progress(subset_reference))
    peers = {
        "stacking-cv": out_of_fold_stacking_row,
        "sklearn-voting": sklearn_voting_row,
        "sklearn-stacking": sklearn_stacking_row,
        "keras-voting": keras_voting_row,
        "keras-voting-fixed": keras_voting_fixed_row,
        "scikeras-voting": scikeras_voting_row,
    }
    for row_id, make_row in peers.items():
        if row_id in args.skip:
            rows.append(skipped(new_row(row_id, "subset", data, args)))
        else:
            rows.append(report_progress(make_row(data, args)))
    return add_relative_times(rows, data), learned
