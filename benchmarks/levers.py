"""What each training lever gives one member on full Fashion-MNIST, and what more members give.

Usage::

    python benchmarks/levers.py                      # every lever, about 2 hours on 2 cores
    python benchmarks/levers.py --levers defaults,no-augmentation
    python benchmarks/levers.py --digits-only        # the augmentation default on 8x8 digits

The member (``--member``, default ``plain``) trains on the 54,000 rows that
the default ``WeightedAverageEnsemble(holdout=0.1, random_state=0)`` gives its
members, with horizontal flips on (Fashion-MNIST's clothes look the same
mirrored, as ``keras-ensembles fit`` sets for this data); each lever changes
one setting of that recipe. Scored on the 10,000 test images: accuracy and
log loss without and with test-time augmentation (the mirror image), and
with a temperature fitted on the 6,000 held-out rows. Three more rows answer
"more members from the same budget": the member with three seeds averaged,
and a snapshot ensemble (one run of about as many epochs whose cosine
schedule restarts at each third, Huang et al. 2017; its three end-of-cycle
snapshots are averaged).

The digits section trains the member with and without shifts and flips on
scikit-learn's 8x8 digits (5-fold cross-validation): the evidence for the
default (shifts on, flips off) on images that are not clothes.

Every run's probabilities are cached in ``--cache-dir``, so an interrupted
run resumes where it stopped. Writes ``benchmarks/results/levers.{md,json}``.
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


#: lever -> (description, parameter overrides of the recipe)
LEVERS = {
    "defaults": ("the recipe: shifts + flips, AdamW 0.05, cosine from 3e-3, stride-2 stem", {}),
    "no-augmentation": ("no shifts, no flips", {"random_shift": 0.0, "horizontal_flip": False}),
    "no-flip": ("shifts only (the default for images in general)", {"horizontal_flip": False}),
    "plateau": ("Adam 1e-3 halved on plateaus (the earlier schedule)",
                {"lr_schedule": "plateau", "learning_rate": 1e-3}),
    "no-weight-decay": ("weight decay 0", {"weight_decay": 0.0}),
    "label-smoothing": ("label smoothing 0.1", {"label_smoothing": 0.1}),
    "full-resolution-stem": ("stem_strides=1: every stage at twice the resolution, 4x the compute",
                             {"stem_strides": 1}),
    "earlier-defaults": ("every setting as before this round: no augmentation, Adam 1e-3 on "
                         "plateaus, no weight decay, full-resolution stem",
                         {"random_shift": 0.0, "horizontal_flip": False, "lr_schedule": "plateau",
                          "learning_rate": 1e-3, "weight_decay": 0.0, "stem_strides": 1,
                          "early_stopping_patience": 3}),
    "seed-1": ("the recipe, random_state=1", {"random_state": 1}),
    "seed-2": ("the recipe, random_state=2", {"random_state": 2}),
}
SNAPSHOTS = 3


def member_class(name):
    from members import PlainCNNClassifier, ResidualNetClassifier, SeparableCNNClassifier

    return {"plain": PlainCNNClassifier, "separable": SeparableCNNClassifier,
            "residual": ResidualNetClassifier}[name]


def recipe(member, **overrides):
    params = {"horizontal_flip": True, "random_state": 0}
    params.update(overrides)
    return member_class(member)(**params)


def ensemble_split(y):
    """The rows the default ensemble's members train on and the rows it blends on."""
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(y)), test_size=0.1, stratify=y, random_state=0)


def scores(y, proba):
    from ensemble.evaluation import metrics

    return {"accuracy": metrics.accuracy(y, proba, np.arange(10)),
            "log_loss": metrics.log_loss(y, proba, np.arange(10)),
            "ece": metrics.expected_calibration_error(y, proba, np.arange(10))}


def run_lever(lever, args, data, cache):
    """Fit one configuration (or load it from the cache); its probabilities and timings."""
    path = cache_path(cache, args, lever)
    if path.is_file():
        stored = np.load(path, allow_pickle=False)
        return {key: stored[key] for key in stored.files}
    X_fit, y_fit, X_blend, X_test = data["X_fit"], data["y_fit"], data["X_blend"], data["X_test"]
    estimator = recipe(args.member, **LEVERS[lever][1], **epoch_cap(args))
    start = time.perf_counter()
    estimator.fit(X_fit, y_fit)
    seconds = time.perf_counter() - start
    result = {"seconds": np.array(seconds), "epochs": np.array(len(estimator.history_["epoch"]))}
    for tta in ("none", "flip"):
        estimator.set_params(tta=tta)
        result[f"test_{tta}"] = estimator.predict_proba(X_test)
        result[f"blend_{tta}"] = estimator.predict_proba(X_blend)
    np.savez(path, **result)
    return result


def cache_path(cache, args, run):
    """Where one run's probabilities are kept: an ``--epochs`` cap is part of the name,
    so a capped run never reloads the uncapped one (or the other way round)."""
    cap = "" if args.epochs is None else f"-{args.epochs}-epochs"
    return cache / f"{args.member}-{run}{cap}.npz"


def epoch_cap(args):
    return {} if args.epochs is None else {"epochs": args.epochs}


def run_snapshots(args, data, cache):
    """One run, cosine schedule restarted SNAPSHOTS times; the snapshots' averaged probabilities."""
    path = cache_path(cache, args, "snapshots")
    if path.is_file():
        stored = np.load(path, allow_pickle=False)
        return {key: stored[key] for key in stored.files}
    import keras

    from members.utils.tta import transform_batch

    estimator = recipe(args.member, **epoch_cap(args))
    cycle_epochs = max(1, estimator.epochs // SNAPSHOTS)
    epochs = cycle_epochs * SNAPSHOTS
    X_fit = data["X_fit"].reshape(len(data["X_fit"]), -1).astype("float32")
    y_fit = data["y_fit"]
    keras.utils.set_random_seed(0)
    steps = -(-len(y_fit) // estimator.batch_size)
    model = estimator.compiled_model((28, 28, 1), 10, 1 / 255, steps, 0)
    schedule = keras.optimizers.schedules.CosineDecayRestarts(
        estimator.learning_rate, first_decay_steps=steps * cycle_epochs, t_mul=1.0, m_mul=1.0)
    optimizer = keras.optimizers.Adam(schedule, weight_decay=estimator.weight_decay)
    optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    snapshot_probas = {"test": [], "blend": []}

    def predict(X):
        images = X.reshape(len(X), 28, 28, 1).astype("float32")
        both = [model.predict(transform_batch(images, name).reshape(len(X), -1), batch_size=512,
                              verbose=0) for name in ("identity", "flip")]
        return np.asarray((both[0] + both[1]) / 2, dtype=np.float64)

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if (epoch + 1) % cycle_epochs == 0:
                snapshot_probas["test"].append(predict(data["X_test"]))
                snapshot_probas["blend"].append(predict(data["X_blend"]))

    start = time.perf_counter()
    model.fit(X_fit, y_fit, epochs=epochs, batch_size=estimator.batch_size,
              callbacks=[Snapshot()], verbose=0)
    seconds = time.perf_counter() - start
    result = {"seconds": np.array(seconds), "epochs": np.array(epochs),
              "test_snapshots": np.stack(snapshot_probas["test"]),
              "blend_snapshots": np.stack(snapshot_probas["blend"])}
    np.savez(path, **result)
    return result


def lever_rows(results, data):
    """One table row per lever: test scores plain, with TTA, with TTA and a temperature."""
    from ensemble.combiners.calibration import apply_temperature, fit_temperature

    rows = []
    for lever, result in results.items():
        row = {"lever": lever, "what": LEVERS[lever][0], "epochs": int(result["epochs"]),
               "seconds": float(result["seconds"])}
        plain = scores(data["y_test"], result["test_none"])
        tta = scores(data["y_test"], result["test_flip"])
        temperature = fit_temperature(result["blend_flip"], data["y_blend"])
        calibrated = scores(data["y_test"], apply_temperature(result["test_flip"], temperature))
        row.update(accuracy=plain["accuracy"], log_loss=plain["log_loss"],
                   tta_accuracy=tta["accuracy"], tta_log_loss=tta["log_loss"], tta_ece=tta["ece"],
                   temperature=temperature, calibrated_log_loss=calibrated["log_loss"],
                   calibrated_ece=calibrated["ece"])
        rows.append(row)
    return rows


def more_member_rows(results, snapshots, data):
    """Three seeds averaged, and three snapshots of one run averaged (flip TTA, equal weights)."""
    rows = []
    seeds = [lever for lever in ("defaults", "seed-1", "seed-2") if lever in results]
    if len(seeds) == 3:
        proba = np.mean([results[lever]["test_flip"] for lever in seeds], axis=0)
        seconds = sum(float(results[lever]["seconds"]) for lever in seeds)
        best = max(scores(data["y_test"], results[lever]["test_flip"])["accuracy"]
                   for lever in seeds)
        rows.append({"what": "3 seeds of the member, averaged", "seconds": seconds,
                     "best_single": best, **scores(data["y_test"], proba)})
    if snapshots is not None:
        single = scores(data["y_test"], snapshots["test_snapshots"][-1])
        proba = snapshots["test_snapshots"].mean(axis=0)
        rows.append({"what": f"{SNAPSHOTS} snapshots of one cyclic-cosine run, averaged",
                     "seconds": float(snapshots["seconds"]), "best_single": single["accuracy"],
                     **scores(data["y_test"], proba)})
    return rows


def digits_rows(args):
    """The member with and without shifts and flips on 8x8 digits, 5-fold cross-validation."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    X, y = load_digits(return_X_y=True)
    X = (X * 255 / 16).round().astype("uint8").reshape(-1, 8, 8, 1)
    settings = {
        "no augmentation": {"random_shift": 0.0, "horizontal_flip": False},
        "shifts (default)": {},
        "shifts + flips": {"horizontal_flip": True},
    }
    rows = []
    for name, overrides in settings.items():
        estimator = member_class(args.member)(random_state=0, epochs=args.digits_epochs,
                                              validation_fraction=0.0, **overrides)
        start = time.perf_counter()
        accuracy = cross_val_score(estimator, X, y, cv=StratifiedKFold(5, shuffle=True,
                                                                       random_state=0))
        rows.append({"setting": name, "accuracy": float(np.mean(accuracy)),
                     "std": float(np.std(accuracy)), "seconds": time.perf_counter() - start})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--member", default="plain", choices=("plain", "separable", "residual"))
    parser.add_argument("--levers", default=",".join(LEVERS))
    parser.add_argument("--no-snapshots", action="store_true")
    parser.add_argument("--epochs", type=int, default=None, help="cap (default: the member's)")
    parser.add_argument("--digits-epochs", type=int, default=30)
    parser.add_argument("--digits-only", action="store_true")
    parser.add_argument("--no-digits", action="store_true",
                        help="skip the 8x8 digits section (measured separately)")
    parser.add_argument("--cache-dir", default="/tmp/keras-ensembles-levers")
    parser.add_argument("--output-name", default="levers")
    args = parser.parse_args()
    if args.no_digits and args.output_name == "levers":
        parser.error("--no-digits would replace the recorded digits rows of results/levers.*: "
                     "pass another --output-name")
    from ensemble import import_keras_quietly

    import_keras_quietly()
    import _common as common
    digits = [] if args.no_digits else digits_rows(args)
    results, snapshots = {}, None
    if not args.digits_only:
        from ensemble.datasets import load_fashion_mnist

        (X, y), (X_test, y_test), _ = load_fashion_mnist("full")
        fit_rows, blend_rows = ensemble_split(y)
        data = {"X_fit": X[fit_rows], "y_fit": y[fit_rows], "X_blend": X[blend_rows],
                "y_blend": y[blend_rows], "X_test": X_test, "y_test": y_test}
        cache = Path(args.cache_dir)
        cache.mkdir(parents=True, exist_ok=True)
        for lever in args.levers.split(","):
            results[lever] = run_lever(lever, args, data, cache)
            print(json.dumps(lever_rows({lever: results[lever]}, data)[0]), flush=True)
        if not args.no_snapshots:
            snapshots = run_snapshots(args, data, cache)
    write(common, args, digits, results, snapshots, data if results else None)


def write(common, args, digits, results, snapshots, data):
    parts = [f"Member: {args.member}; Fashion-MNIST rows as inside the default ensemble "
             "(54,000 to train, 6,000 held out for the temperature, 10,000 test)."]
    payload = {"machine": common.machine(), "member": args.member, "digits": digits}
    if results:
        rows = lever_rows(results, data)
        more = more_member_rows(results, snapshots, data)
        payload.update(levers=rows, more_members=more)
        parts.append(common.markdown_table(rows, [
            ("lever", "lever", "{}"), ("what", "setting", "{}"), ("epochs", "epochs", "{}"),
            ("seconds", "training s", "{:.0f}"), ("accuracy", "accuracy", "{:.4f}"),
            ("log_loss", "log loss", "{:.4f}"), ("tta_accuracy", "accuracy, flip TTA", "{:.4f}"),
            ("tta_log_loss", "log loss, flip TTA", "{:.4f}"),
            ("tta_ece", "ECE, flip TTA", "{:.4f}"),
            ("temperature", "temperature", "{:.2f}"),
            ("calibrated_log_loss", "log loss, TTA + temperature", "{:.4f}"),
            ("calibrated_ece", "ECE, TTA + temperature", "{:.4f}")]))
        if more:
            parts.append(common.markdown_table(more, [
                ("what", "more members from one budget", "{}"), ("seconds", "training s", "{:.0f}"),
                ("best_single", "best single accuracy", "{:.4f}"),
                ("accuracy", "accuracy", "{:.4f}"),
                ("log_loss", "log loss", "{:.4f}"), ("ece", "ECE", "{:.4f}")]))
    if digits:
        parts.append(f"8x8 digits, 5-fold cross-validation, {args.digits_epochs} epochs:\n\n"
                     + common.markdown_table(digits, [
                         ("setting", "augmentation", "{}"), ("accuracy", "accuracy", "{:.4f}"),
                         ("std", "std", "{:.4f}"), ("seconds", "s", "{:.0f}")]))
    table = "\n\n".join(parts)
    print(table)
    common.write_results(args.output_name, payload, table)


if __name__ == "__main__":
    main()
