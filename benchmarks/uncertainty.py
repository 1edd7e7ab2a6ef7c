"""Shifted and unfamiliar images: the ensemble against its best member, where ensembles pay.

Usage::

    keras-ensembles fit --data full --output model.zip          # the CLI-default model
    python benchmarks/uncertainty.py --model model.zip           # shift, OOD, abstention
    python benchmarks/uncertainty.py --model model.zip \\
        --heldout-model model8.zip --heldout-classes 8,9         # + held-out classes

Measures, on the full Fashion-MNIST test set:

* **Shift**: every corruption of ``ensemble.datasets.corruptions`` at
  severities 1-5 on ``--n-shift`` test images (3,000 by default), each
  member's and the ensemble's accuracy, log loss and ECE, and the
  ensemble's gain over its best member averaged over all 60 conditions with
  a 95 % interval (bootstrap over images: ``evaluate_under_shift``).
* **Unfamiliar images**: AUROC and FPR at 95 % TPR of the ensemble's
  max-probability, entropy and mutual information (blend weights and equal
  weights) against its best member's, for telling the 10,000 test images
  from scikit-learn's digits scaled to 28x28, uniform noise, and the test
  images inverted; the AUROC difference (ensemble mutual information or
  entropy minus best member's max-probability) with a paired bootstrap
  interval. With ``--heldout-model`` (trained by ``keras-ensembles fit`` on
  the training images of all classes but ``--heldout-classes``), the same
  for its test images of the seen classes against those of the held-out
  classes.
* **Abstention**: the accuracy-coverage curves and AURC of the ensemble
  (ranked by entropy, by mutual information) and of the best member (by
  max-probability), and a threshold chosen on one half of the test set for
  90 % coverage, applied to the other half.

Writes ``benchmarks/results/uncertainty.{md,json}`` (``--name`` to change).
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from _common import machine, markdown_table, write_results  # noqa: E402

BOOTSTRAP = 500
#: Test images, outside the shift measurement's, that the temperature-under-shift lever fits on.
SHIFT_VALIDATION_ROWS = 2000
#: The ensemble's scores whose AUROC gain over the best member's max-probability is bootstrapped.
OURS = ("ensemble mutual information", "ensemble entropy",
        "ensemble mutual information, TTA passes as members")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True,
                        help="a fitted ensemble archive (fit --data full)")
    parser.add_argument("--heldout-model", help="an ensemble trained without --heldout-classes")
    parser.add_argument("--heldout-classes", default="8,9",
                        help="labels the held-out model never saw (default: 8,9)")
    parser.add_argument("--n-shift", type=int, default=3000,
                        help="test images corrupted per condition (default: 3000)")
    parser.add_argument("--severities", default="1,2,3,4,5")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parts", default="shift,ood,abstention",
                        help="which measurements (default: shift,ood,abstention; the held-out "
                             "classes run whenever --heldout-model is given)")
    parser.add_argument("--tta", default="as saved",
                        choices=("as saved", "none", "flip", "shift", "flip+shift"),
                        help="test-time augmentation of every member (the TTA lever; default: "
                             "as the model was saved, flip for Fashion-MNIST)")
    parser.add_argument("--name", default="uncertainty")
    return parser.parse_args(argv)


def digits_28x28():
    """scikit-learn's 1,797 8x8 digits (0-16) as 28x28 grey uint8 images (0-255)."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    digits = load_digits().images / 16.0 * 255.0
    scaled = zoom(digits, (1, 28 / 8, 28 / 8), order=1)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)[..., np.newaxis]


def lever_blends(model):
    """Other blends of the same members, scored at no extra network cost (the issue's levers)."""
    cls = type(model)
    if not hasattr(model, "weights_"):
        return {}
    return {"equal weights": cls.from_blend(model, weighting="equal"),
            "log-loss weights": cls.from_blend(model, weighting="log_loss"),
            "equal + temperature": cls.from_blend(model, weighting="equal",
                                                  calibration="temperature"),
            "auto + temperature": cls.from_blend(model, calibration="temperature")}


class ShiftTemperature:
    """A blend of the same members, its output rescaled by a temperature fitted on shifted images.

    The "temperature under shift" lever: ``fit_temperature`` on the blend's
    probabilities for ``n`` test images that the shift measurement does not
    use, each corrupted by a random corruption at a random severity (the
    families the measurement uses: an optimistic lever, since a user rarely
    knows which shifts to expect).
    """

    def __init__(self, blend, temperature):
        self.blend, self.temperature = blend, temperature

    def proba_from_member_probas(self, members, images):
        from ensemble.combiners.calibration import apply_temperature

        return apply_temperature(self.blend.proba_from_member_probas(members, images),
                                 self.temperature)


def shift_temperature_levers(model, X_val, y_val, seed):
    """``{name: ShiftTemperature}`` for the default blend, equal weights and the best member."""
    from ensemble.combiners.calibration import fit_temperature
    from ensemble.datasets.corruptions import CORRUPTIONS, corrupt
    from members.utils.labels import label_indices

    rng = np.random.default_rng([seed, 1])
    kinds = rng.integers(0, len(CORRUPTIONS), len(X_val))
    severities = rng.integers(1, 6, len(X_val))
    shifted = np.empty_like(X_val)
    for kind in range(len(CORRUPTIONS)):
        for severity in range(1, 6):
            rows = np.flatnonzero((kinds == kind) & (severities == severity))
            if len(rows):
                shifted[rows] = corrupt(X_val[rows], CORRUPTIONS[kind], severity,
                                        random_state=rng)
    members, _, _ = model.scored_probas(shifted)
    y_idx = label_indices(y_val, model.classes_)
    levers, temperatures = {}, {}
    # The best member alone, with its own temperature fitted on the same shifted rows: the
    # control that tells calibration's share of the gain from the ensemble's.
    blends = {"auto": model, "equal": type(model).from_blend(model, weighting="equal"),
              "best member": type(model).from_blend(model, weighting="best_member")}
    for label, blend in blends.items():
        temperature = fit_temperature(blend.proba_from_member_probas(members, shifted), y_idx)
        levers[f"{label} + temperature fitted under shift"] = ShiftTemperature(blend, temperature)
        temperatures[label] = float(temperature)
    return levers, temperatures


def set_tta(model, tta):
    """Every member predicts with ``tta`` (read at prediction time, so no refit)."""
    if tta != "as saved":
        for member in model.members_:
            member.set_params(tta=tta)


def unfamiliar_sets(X_test, seed):
    rng = np.random.default_rng(seed)
    return {
        "digits (sklearn, 28x28)": digits_28x28(),
        "uniform noise": rng.integers(0, 256, size=(2000,) + X_test.shape[1:], dtype=np.uint8),
        "inverted test images": (255 - X_test[:2000]).astype(np.uint8),
    }


def score_sets(model, X, member_weights):
    """Per-row scores (larger = more unfamiliar) of the ensemble and its best member."""
    from ensemble.evaluation.shift import best_member_name
    from members.utils.uncertainty import entropy

    parts = model.predict_uncertainty(X, member_weights=member_weights)
    weights = dict(zip(model.named_members_, parts.member_weights, strict=True))
    best_name = best_member_name(model)
    each = {name: member.predict_uncertainty(X) for name, member in model.named_members_.items()
            if weights[name] > 0 or name == best_name}
    best = each[best_name]
    # Every TTA pass of every member as a member of its own (the TTA lever): the
    # blend's entropy minus the weighted mean of the passes' entropies, which a
    # member's predict_uncertainty reports as its "expected" part.
    kept = [(weight, each[name]) for name, weight in weights.items() if weight > 0]
    blend = sum(weight * member.proba for weight, member in kept)
    passes_mi = np.maximum(entropy(blend) - sum(weight * member.expected
                                                for weight, member in kept), 0.0)
    return {"ensemble max probability": 1 - parts.confidence, "ensemble entropy": parts.total,
            "ensemble mutual information": parts.mutual_information,
            "ensemble mutual information, TTA passes as members": passes_mi,
            "best member max probability": 1 - best.confidence,
            "best member entropy": best.total,
            "best member mutual information of its TTA passes": best.mutual_information}


def ood_rows(model, X_in, sets, member_weights, seed, label):
    from sklearn.metrics import roc_auc_score

    from ensemble.evaluation.uncertainty import ood_scores

    rows = []
    inside = score_sets(model, X_in, member_weights)
    rng = np.random.default_rng(seed)
    for name, X_out in sets.items():
        outside = score_sets(model, X_out, member_weights)
        row = {"set": name, "model": label, "member_weights": member_weights,
               "n_familiar": len(X_in), "n_unfamiliar": len(X_out)}
        for score in inside:
            result = ood_scores(inside[score], outside[score])
            row[f"{score} auroc"] = result.auroc
            row[f"{score} fpr95"] = result.fpr_at_95_tpr
        # Paired bootstrap (rows of both sets resampled together) of AUROC differences.
        for ours in OURS:
            diffs = []
            for _ in range(BOOTSTRAP):
                i = rng.integers(0, len(X_in), len(X_in))
                o = rng.integers(0, len(X_out), len(X_out))
                truth = np.r_[np.zeros(len(i)), np.ones(len(o))]
                diffs.append(
                    roc_auc_score(truth, np.r_[inside[ours][i], outside[ours][o]])
                    - roc_auc_score(truth, np.r_[inside["best member max probability"][i],
                                                 outside["best member max probability"][o]]))
            low, high = np.percentile(diffs, [2.5, 97.5])
            row[f"{ours} - best max prob auroc"] = (row[f"{ours} auroc"]
                                                    - row["best member max probability auroc"])
            row[f"{ours} - best max prob interval"] = [float(low), float(high)]
        rows.append(row)
        print(f"  {label} vs {name}: AUROC ensemble MI "
              f"{row['ensemble mutual information auroc']:.3f}, entropy "
              f"{row['ensemble entropy auroc']:.3f}, best member max-prob "
              f"{row['best member max probability auroc']:.3f}", flush=True)
    return rows


def abstention_rows(model, X_test, y_test, seed):
    from ensemble.evaluation.shift import best_member_name
    from ensemble.evaluation.uncertainty import aurc, choose_abstention_threshold

    parts = model.predict_uncertainty(X_test)
    best = model.named_members_[best_member_name(model)].predict_uncertainty(X_test)
    classes = model.classes_
    rankings = {"ensemble by entropy": (parts.proba, parts.total),
                "ensemble by mutual information": (parts.proba, parts.mutual_information),
                "ensemble by max probability": (parts.proba, 1 - parts.confidence),
                "best member by max probability": (best.proba, 1 - best.confidence)}
    half = np.random.default_rng(seed).permutation(len(y_test))
    choose, check = half[: len(half) // 2], half[len(half) // 2:]
    rows = []
    for name, (proba, uncertainty) in rankings.items():
        correct = classes[np.argmax(proba, axis=1)] == y_test
        choice = choose_abstention_threshold(uncertainty[choose], correct[choose],
                                             target_coverage=0.9)
        kept = uncertainty[check] <= choice.threshold
        rows.append({"ranking": name,
                     "aurc": aurc(y_test, proba, classes, uncertainty=uncertainty),
                     "accuracy_all": float(correct.mean()),
                     "coverage_chosen_half": choice.coverage,
                     "coverage_other_half": float(kept.mean()),
                     "accuracy_kept_other_half": float(correct[check][kept].mean())})
    _add_relative_aurc(rows, rankings, y_test, classes, seed)
    return rows


def _add_relative_aurc(rows, rankings, y_test, classes, seed):
    """Each ranking's AURC relative to the best member's, with a paired bootstrap over rows."""
    from ensemble.evaluation.uncertainty import aurc

    baseline = "best member by max probability"
    rng = np.random.default_rng(seed)
    samples = [rng.integers(0, len(y_test), len(y_test)) for _ in range(BOOTSTRAP)]

    def resampled(proba, uncertainty):
        return np.array([aurc(y_test[i], proba[i], classes, uncertainty=uncertainty[i])
                         for i in samples])

    base = resampled(*rankings[baseline])
    base_aurc = next(row["aurc"] for row in rows if row["ranking"] == baseline)
    for row in rows:
        ratios = resampled(*rankings[row["ranking"]]) / base - 1
        row["aurc_relative_to_best_member"] = row["aurc"] / base_aurc - 1
        row["aurc_relative_interval"] = np.percentile(ratios, [2.5, 97.5]).tolist()


def main(argv=None):
    args = parse_args(argv)
    from ensemble import load
    from ensemble.datasets import load_fashion_mnist
    from ensemble.evaluation.shift import evaluate_under_shift

    started = time.perf_counter()
    model = load(args.model)
    set_tta(model, args.tta)
    _, (X_test, y_test), _ = load_fashion_mnist("full", download=False)
    severities = tuple(int(s) for s in args.severities.split(","))
    rng = np.random.default_rng(args.seed)
    shift_rows = rng.permutation(len(y_test))[: args.n_shift]

    parts = set(args.parts.split(","))
    shift, shift_temperatures = None, None
    if "shift" in parts:
        print(f"shift: {args.n_shift} images x every corruption x severities {severities}",
              flush=True)
        others = lever_blends(model)
        if others:
            validation = rng.permutation(np.setdiff1d(np.arange(len(y_test)), shift_rows))
            validation = validation[:SHIFT_VALIDATION_ROWS]
            levers, temperatures = shift_temperature_levers(
                model, X_test[validation], y_test[validation], args.seed)
            others.update(levers)
            shift_temperatures = temperatures
            print(f"temperatures fitted on {len(validation)} shifted images: {temperatures}",
                  flush=True)
        shift = evaluate_under_shift(model, X_test[shift_rows], y_test[shift_rows],
                                     severities=severities, random_state=args.seed,
                                     others=others)
        print(shift.table())
        print("\n".join(shift.gain_lines()), flush=True)

    ood = []
    if "ood" in parts:
        print("unfamiliar images", flush=True)
        sets = unfamiliar_sets(X_test, args.seed)
        for member_weights in ("blend", "equal"):
            ood += ood_rows(model, X_test, sets, member_weights, args.seed, "full model")
    if args.heldout_model:
        heldout = load(args.heldout_model)
        set_tta(heldout, args.tta)
        unseen = np.isin(y_test, [int(c) for c in args.heldout_classes.split(",")])
        for member_weights in ("blend", "equal"):
            ood += ood_rows(heldout, X_test[~unseen], {"held-out classes": X_test[unseen]},
                            member_weights, args.seed, "held-out-classes model")

    abstention = []
    if "abstention" in parts:
        print("abstention", flush=True)
        abstention = abstention_rows(model, X_test, y_test, args.seed)

    payload = {"model": args.model, "heldout_model": args.heldout_model,
               "tta": args.tta, "weights": np.asarray(getattr(model, "weights_", [])).tolist(),
               "selection": getattr(model, "selection_", None),
               "temperatures_fitted_under_shift": shift_temperatures,
               "shift": shift.to_dict() if shift else None, "ood": ood, "abstention": abstention,
               "seconds": time.perf_counter() - started, "machine": machine()}
    write_results(args.name, payload, report_markdown(shift, ood, abstention))
    print(f"done in {payload['seconds']:.0f} s")


def report_markdown(shift, ood, abstention):
    parts = []
    if shift is not None:
        parts += shift_markdown(shift)
    if ood:
        parts += ood_markdown(ood)
    if abstention:
        parts += abstention_markdown(abstention)
    return "\n".join(parts)


def shift_markdown(shift):
    blends = {"ensemble (default)": shift.gains, **shift.other_gains}
    gains = [{"blend": blend, "metric": metric, **gain, "low": gain["interval"][0],
              "high": gain["interval"][1], "relative": gain["gain"] / gain["member"]}
             for blend, found in blends.items() for metric, gain in found.items()]
    return ["## Under shift (mean over every corruption and severity)", "",
            "```", shift.table(), "```", "",
            markdown_table(gains, [("blend", "blend", "{}"), ("metric", "metric", "{}"),
                                    ("best_member", "best member", "{}"),
                                    ("member", "member", "{:.4f}"),
                                    ("ensemble", "ensemble", "{:.4f}"),
                                    ("gain", "gain", "{:+.4f}"),
                                    ("relative", "relative", "{:+.1%}"),
                                    ("low", "95 % low", "{:+.4f}"),
                                    ("high", "95 % high", "{:+.4f}"),
                                    ("verdict", "verdict", "{}")]), ""]


def ood_markdown(ood):
    parts = ["## Unfamiliar images (AUROC / FPR at 95 % TPR)", ""]
    scores = ("ensemble max probability", "ensemble entropy", "ensemble mutual information",
              "ensemble mutual information, TTA passes as members",
              "best member max probability", "best member entropy",
              "best member mutual information of its TTA passes")
    columns = [("model", "model", "{}"), ("set", "unfamiliar set", "{}"),
               ("member_weights", "weights", "{}")]
    for score in scores:
        columns += [(f"{score} auroc", f"{score} AUROC", "{:.3f}"),
                    (f"{score} fpr95", "FPR95", "{:.3f}")]
    parts += [markdown_table(ood, columns), "",
              "AUROC gain over the best member's max-probability (95 % paired bootstrap):", ""]
    for row in ood:
        for ours in OURS:
            low, high = row[f"{ours} - best max prob interval"]
            parts.append(f"- {row['model']}, {row['set']}, {row['member_weights']} weights, "
                         f"{ours}: {row[f'{ours} - best max prob auroc']:+.3f} "
                         f"({low:+.3f} to {high:+.3f})")
    return parts + [""]


def abstention_markdown(abstention):
    return ["## Abstention (threshold for 90 % coverage chosen on one half of the test "
            "set, applied to the other)", "",
            markdown_table(abstention, [("ranking", "ranking", "{}"), ("aurc", "AURC", "{:.4f}"),
                                          ("aurc_relative_to_best_member",
                                           "AURC vs best member", "{:+.1%}"),
                                          ("aurc_relative_interval", "95 % interval",
                                           "{0[0]:+.1%} to {0[1]:+.1%}"),
                                          ("accuracy_all", "accuracy, all rows", "{:.4f}"),
                                          ("coverage_other_half", "coverage", "{:.3f}"),
                                          ("accuracy_kept_other_half", "accuracy kept",
                                           "{:.4f}")])]


if __name__ == "__main__":
    main()
