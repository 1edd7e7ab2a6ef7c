"""The costs table of ``benchmarks/compare.py``: the wrapper, parallelism, weights, prediction.

Four measurements, each skippable with ``--skip``, each a list of rows with
``seconds`` (ours), ``against_seconds`` (what it is set against), their
``ratio`` and a one-line ``result``: the member wrapper against a bare
``model.fit`` (``benchmarks/bench_members.py``'s measurement); ``n_jobs=-1``
against ``n_jobs=1``; time to learn log-loss weights and Caruana selection for
2 to 20 synthetic members; the ensemble's ``predict_proba`` against its
members' bare ``model.predict``. A measurement that fails gets one row with the
reason instead.
"""

import os
from functools import partial

import numpy as np

from _common import Timer
from _compare_plan import chosen_members, one_line
from ensemble.combiners import weights as blend_weights

WEIGHT_MEMBER_COUNTS = (2, 5, 10, 20)


def cost_rows(data, learned, args):
    """The second table: what the wrapper, parallelism, weights and prediction cost."""
    measures = {
        "overhead": wrapper_overhead_rows,
        "parallel": parallel_speedup_rows,
        "weights": weight_learning_rows,
        "predict": prediction_cost_rows,
    }
    rows = []
    for cost_id, measure in measures.items():
        if cost_id in args.skip:
            rows.append({"id": cost_id, "cost": cost_id, "reason": "skipped (--skip)"})
            continue
        try:
            new = measure(data, learned, args)
        except Exception as error:
            new = [{"id": cost_id, "cost": cost_id, "reason": one_line(error)}]
        for row in new:
            print(f"[cost {row['id']}] {row.get('result') or row.get('reason')}", flush=True)
        rows += new
    return rows


def wrapper_overhead_rows(data, learned, args):
    """``benchmarks/bench_members.py``'s measurement: bare ``model.fit`` against the wrapper."""
    import bench_members as members_benchmark
    rows = []
    for name in args.members:
        measured = members_benchmark.wrapper_overhead(
            name, data.X_subset, data.y_subset, args.overhead_epochs,
            repeats=args.overhead_repeats)
        rows.append({
            "id": f"overhead-{name}", "cost": f"member wrapper, {name}",
            "setting": f"{args.overhead_epochs} epoch(s), {data.label('subset')} rows "
                       "(10 % validation)" + (f", median of {args.overhead_repeats}"
                                              if args.overhead_repeats > 1 else ""),
            "seconds": measured["wrapper_seconds"], "against": "bare model.fit",
            "against_seconds": measured["bare_seconds"], "ratio": measured["overhead_ratio"],
            "result": f"wrapper / bare {measured['overhead_ratio']:.3f}",
        })
    return rows


def parallel_speedup_rows(data, learned, args):
    """``benchmarks/bench_ensemble.py``'s measurement, over the chosen members."""
    seconds = parallel_fit_seconds(data.X_subset, data.y_subset, args)
    speedup = seconds[1] / seconds[-1]
    return [{
        "id": "parallel", "cost": "members in parallel (n_jobs=-1)",
        "setting": f"log-loss ensemble, {len(args.members)} members x {args.speedup_epochs} "
                   f"epoch(s), {data.label('subset')} rows, {os.cpu_count()} cores",
        "seconds": seconds[-1], "against": "n_jobs=1", "against_seconds": seconds[1],
        "ratio": speedup, "result": f"speed-up {speedup:.2f}x",
    }]


def parallel_fit_seconds(X, y, args):
    """Seconds of the same log-loss fit with n_jobs=1 then n_jobs=-1, fixed epochs.

    As ``parallel_speedup`` in ``benchmarks/bench_ensemble.py``: early stopping off,
    so that both runs train the same number of epochs.
    """
    from ensemble import WeightedAverageEnsemble

    seconds = {}
    for n_jobs in (1, -1):
        members = chosen_members(args, args.speedup_epochs)
        for _, member in members:
            member.set_params(early_stopping_patience=None)
        with Timer() as t:
            WeightedAverageEnsemble(members, holdout=0.1, n_jobs=n_jobs,
                                    random_state=args.seed).fit(X, y)
        seconds[n_jobs] = t.seconds
    return seconds


def synthetic_probas(n_members, n_rows, n_classes=10, seed=0):
    """Random member probabilities and labels, (n_members, n_rows, n_classes)."""
    rng = np.random.RandomState(seed)
    logits = rng.normal(size=(n_members, n_rows, n_classes))
    probas = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    return probas, rng.randint(0, n_classes, size=n_rows)


def median_seconds(function, repeats):
    """Median wall time of ``repeats`` calls of ``function()``."""
    times = []
    for _ in range(repeats):
        with Timer() as t:
            function()
        times.append(t.seconds)
    return float(np.median(times))


def weight_learning_rows(data, learned, args):
    """Log-loss weights and Caruana selection as the number of members grows."""
    rows = []
    for n_members in WEIGHT_MEMBER_COUNTS:
        probas, y = synthetic_probas(n_members, args.weight_rows)
        log_loss_s = median_seconds(partial(blend_weights.log_loss_weights, probas, y),
                                    args.repeats)
        caruana_s = median_seconds(partial(blend_weights.caruana_weights, probas, y), args.repeats)
        rows.append({
            "id": f"weights-{n_members}", "cost": f"learn weights, {n_members} members",
            "setting": f"synthetic, {args.weight_rows:,} rows x 10 classes, median of "
                       f"{args.repeats}",
            "seconds": log_loss_s, "against": "Caruana selection", "against_seconds": caruana_s,
            "ratio": log_loss_s / caruana_s,
            "result": f"log-loss {log_loss_s:.4f} s, Caruana {caruana_s:.4f} s",
        })
    return rows


def prediction_cost_rows(data, learned, args):
    """The log-loss ensemble's predict_proba against its members' bare model.predict.

    The bare side runs ``model.predict`` of every member the ensemble uses
    (non-zero weight) once per test-time-augmentation transform that member
    averages, on inputs transformed beforehand (not timed).
    """
    from members.utils.tta import resolve_tta, transform_batch

    used = [member for member, weight in zip(learned.members_, learned.weights_, strict=True)
            if weight > 0]
    inputs = []
    for member in used:
        images = data.X_test.reshape(len(data.X_test), *member.input_shape_).astype("float32")
        for name in resolve_tta(member.tta, member.horizontal_flip, member.input_shape_):
            inputs.append((member.model_, transform_batch(images, name).reshape(len(images), -1)))

    def members_bare():
        for model, X in inputs:
            model.predict(X, batch_size=512, verbose=0)

    def ensemble_proba():
        learned.predict_proba(data.X_test)

    # One untimed call each: model.predict traces a function on its first call.
    members_bare()
    ensemble_proba()
    bare = median_seconds(members_bare, args.repeats)
    ours = median_seconds(ensemble_proba, args.repeats)
    return [{
        "id": "predict", "cost": "ensemble predict_proba",
        "setting": f"{len(data.y_test):,} test rows, {len(used)} of {len(learned.members_)} "
                   f"members weighted, {len(inputs)} model.predict passes with TTA, median of "
                   f"{args.repeats}",
        "seconds": ours, "against": "sum of members' model.predict", "against_seconds": bare,
        "ratio": ours / bare, "result": f"ensemble / members {ours / bare:.2f}",
    }]
