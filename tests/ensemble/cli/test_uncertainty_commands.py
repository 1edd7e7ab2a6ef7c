"""The command line's uncertainty: fit --abstain-*, predict --uncertainty, evaluate --shift."""

import json

import numpy as np
import pytest

from ensemble.datasets import load_fashion_mnist, save_csv
from helpers import QUICK_TRAINING, assert_one_line_error, read_csv, run_cli


@pytest.fixture(scope="module")
def careful(tmp_path_factory):
    """`fit` once with an abstention rule for 80 % coverage, and 60 unlabelled test rows."""
    folder = tmp_path_factory.mktemp("careful")
    result = run_cli("fit", "--members", "plain,separable", "--output", "model.zip", "--json",
                     "--abstain-coverage", "0.8", "--abstain-score", "mutual_information",
                     "--member-weights", "equal", *QUICK_TRAINING, cwd=folder, process=True)
    (_, _), (X_test, y_test), _ = load_fashion_mnist("sample")
    save_csv(folder / "test.csv", X_test[:60])
    np.savez(folder / "unfamiliar.npz", X=(255 - X_test[:40]).astype("uint8"))
    return folder, json.loads(result.stdout), X_test[:60]


def test_fit_saves_the_rule_it_chose_on_the_blending_rows(careful):
    from ensemble import load

    folder, out, _ = careful
    rule = out["abstention"]
    assert rule["score"] == "mutual_information" and rule["rows"] == "blending"
    assert rule["target_coverage"] == 0.8 and rule["coverage"] >= 0.8
    # Every member counts, so the rule really sends rows away (a blend of one member,
    # which "auto" may choose, never disagrees and would keep every row).
    assert rule["member_weights"] == [0.5, 0.5] and rule["coverage"] < 1
    assert load(folder / "model.zip").abstention_ == rule


def test_predict_writes_uncertainty_and_the_saved_rules_abstain_column(careful):
    from ensemble import load

    folder, _, X = careful
    run_cli("predict", "model.zip", "--data", "test.csv", "--uncertainty", "--abstain",
            "--output", "out.csv", cwd=folder)
    header, rows = read_csv(folder / "out.csv")
    assert header == ["id", "label", "confidence", "total_uncertainty", "expected_uncertainty",
                      "mutual_information", "abstain"]
    model = load(folder / "model.zip")
    parts = model.predict_uncertainty(X, member_weights=model.abstention_["member_weights"])
    values = np.array([[float(v) for v in row[2:6]] for row in rows])
    np.testing.assert_allclose(values[:, 0], parts.confidence, rtol=1e-6)
    np.testing.assert_allclose(values[:, 3], parts.mutual_information, rtol=1e-6, atol=1e-12)
    abstain = np.array([int(row[6]) for row in rows])
    np.testing.assert_array_equal(abstain, model.predict_abstention(X).astype(int))


def test_predict_coverage_keeps_that_share_of_the_surest_rows(careful):
    folder, _, _ = careful
    run_cli("predict", "model.zip", "--data", "test.csv", "--proba", "--coverage", "0.75",
            "--abstain-score", "confidence", "--output", "kept.csv", cwd=folder)
    header, rows = read_csv(folder / "kept.csv")
    assert header[-1] == "abstain" and len(header) == 1 + 10 + 1
    proba = np.array([[float(v) for v in row[1:11]] for row in rows])
    abstain = np.array([int(row[-1]) for row in rows], dtype=bool)
    assert abstain.sum() <= 15  # 60 rows, 45 kept (more abstained only on exact ties)
    # Every abstained row is less confident than every kept one.
    assert proba[abstain].max(axis=1).max() <= proba[~abstain].max(axis=1).min()


def test_predict_abstain_without_a_saved_rule_is_a_one_line_error(careful, tmp_path):
    from ensemble import load, save

    folder, _, _ = careful
    model = load(folder / "model.zip")
    del model.abstention_
    save(model, tmp_path / "plain.zip")
    result = run_cli("predict", tmp_path / "plain.zip", "--data", folder / "test.csv",
                     "--abstain", "--output", tmp_path / "o.csv", cwd=tmp_path, check=False)
    assert_one_line_error(result, "no saved abstention rule")


def test_member_weights_equal_count_every_member_and_do_not_go_with_the_saved_rule(careful,
                                                                                   tmp_path):
    folder, _, _ = careful
    run_cli("predict", "model.zip", "--data", "test.csv", "--output", tmp_path / "equal.csv",
            "--uncertainty", "--member-weights", "equal", cwd=folder)
    header, rows = read_csv(tmp_path / "equal.csv")
    disagreement = np.array([float(row[header.index("mutual_information")]) for row in rows])
    assert np.all(disagreement >= 0) and disagreement.max() > 0  # two members that differ
    result = run_cli("predict", "model.zip", "--data", "test.csv", "--output", tmp_path / "x.csv",
                     "--abstain", "--member-weights", "equal", cwd=folder, check=False)
    assert_one_line_error(result, "--member-weights does not go with --abstain")


def test_an_unreachable_abstention_target_still_saves_the_trained_ensemble(careful, tmp_path,
                                                                          monkeypatch):
    from argparse import Namespace

    from ensemble import load
    from ensemble.cli import fit
    from ensemble.cli._options import CliError

    folder, _, _ = careful
    model = load(folder / "model.zip")
    del model.abstention_

    def unreachable(**kwargs):
        raise ValueError("No threshold reaches target_accuracy=0.999 on these rows.")

    monkeypatch.setattr(model, "set_abstention", unreachable)
    args = Namespace(abstain_score="total", abstain_coverage=None, abstain_accuracy=0.999,
                     member_weights=None, output=tmp_path / "kept.zip", overwrite=False)
    with pytest.raises(CliError, match="saved to .*kept.zip without an abstention rule"):
        fit._set_abstention(args, model)
    assert not hasattr(load(tmp_path / "kept.zip"), "abstention_")


@pytest.mark.parametrize("command, fragment", [
    (["predict", "model.zip", "--data", "test.csv", "-o", "x.csv", "--abstain-score", "total"],
     "--abstain-score needs --abstain-above or --coverage"),
    (["predict", "model.zip", "--data", "test.csv", "-o", "x.csv", "--abstain",
      "--abstain-score", "total"], "--abstain-score does not go with --abstain"),
    (["predict", "model.zip", "--data", "test.csv", "-o", "x.csv", "--member-weights", "equal"],
     "--member-weights needs --uncertainty or --abstain-above or --coverage"),
    (["evaluate", "model.zip", "--severities", "1,2"], "--severities needs --shift"),
    (["evaluate", "model.zip", "--member-weights", "equal"], "--member-weights needs --ood"),
    (["fit", "--output", "never.zip", "--abstain-score", "expected"],
     "--abstain-score needs --abstain-coverage or --abstain-accuracy"),
])
def test_options_that_refine_another_are_refused_without_it(careful, command, fragment):
    folder, _, _ = careful
    result = run_cli(*command, cwd=folder, check=False)
    assert_one_line_error(result, fragment)
    assert not (folder / "never.zip").exists() and not (folder / "x.csv").exists()


@pytest.mark.parametrize("args, fragment", [
    (["--coverage", "1.5"], "expected a number in (0, 1]"),
    (["--coverage", "0.5", "--abstain"], "not allowed with argument"),
    (["--abstain-score", "entropy", "--abstain"], "invalid choice"),
    (["--abstain-above", "nan"], "expected a finite number"),
    (["--member-weights", "most"], "invalid choice"),
])
def test_bad_abstention_options_are_usage_errors(careful, args, fragment):
    folder, _, _ = careful
    result = run_cli("predict", "model.zip", "--data", "test.csv", "--output", "x.csv", *args,
                     cwd=folder, check=False)
    assert result.returncode == 2 and fragment in result.stderr


@pytest.mark.slow
def test_evaluate_shift_and_unfamiliar_images(careful):
    folder, _, _ = careful
    result = run_cli("evaluate", "model.zip", "--shift", "--shift-images", "40", "--ood",
                     "unfamiliar.npz", "--plots", "figures", "--json", cwd=folder, process=True)
    out = json.loads(result.stdout)
    assert any(path.endswith("shift.png") for path in out["plots"])
    assert (folder / "figures" / "shift.png").read_bytes()[:4] == b"\x89PNG"
    shift = out["shift"]
    assert shift["n_images"] == 40 and len(shift["severities"]) == 5
    assert {row["model"] for row in shift["rows"]} == {"plain", "separable", "ensemble"}
    assert set(shift["gains"]) == {"accuracy", "log_loss", "ece"}
    assert set(out["ood"]) == {"max probability", "entropy", "mutual information",
                               "best member max probability", "best member entropy"}
    for scores in out["ood"].values():
        assert 0 <= scores["auroc"] <= 1 and 0 <= scores["fpr_at_95_tpr"] <= 1
    # What the command printed is the saved model's own per-row entropy, ranked.
    from ensemble import load
    from ensemble.evaluation.uncertainty import ood_scores

    model = load(folder / "model.zip")
    (_, _), (X_test, _), _ = load_fashion_mnist("sample")
    inside, outside = (model.predict_uncertainty(X).total
                       for X in (X_test, np.load(folder / "unfamiliar.npz")["X"]))
    assert out["ood"]["entropy"]["auroc"] == pytest.approx(ood_scores(inside, outside).auroc)


def test_the_command_lines_names_are_the_librarys():
    from ensemble.cli._options import ABSTENTION_SCORES
    from ensemble.cli.evaluate import CORRUPTION_NAMES
    from ensemble.combiners import ABSTENTION_SCORES as LIBRARY_SCORES
    from ensemble.datasets.corruptions import CORRUPTIONS

    assert CORRUPTION_NAMES == CORRUPTIONS
    assert ABSTENTION_SCORES == LIBRARY_SCORES


@pytest.mark.parametrize("args, fragment", [
    (["--shift", "--corruptions", "fog"], "unknown corruption 'fog'"),
    (["--shift", "--severities", "0,6"], "severities are integers from 1 to 5"),
])
def test_bad_shift_options_are_usage_errors(careful, args, fragment):
    folder, _, _ = careful
    result = run_cli("evaluate", "model.zip", *args, cwd=folder, check=False)
    assert result.returncode == 2 and fragment in result.stderr


def test_unfamiliar_images_of_another_size_are_a_one_line_error_naming_them(careful):
    folder, _, _ = careful
    np.savez(folder / "small.npz", X=np.zeros((5, 8, 8, 1), dtype="uint8"))
    result = run_cli("evaluate", "model.zip", "--ood", "small.npz", cwd=folder, check=False)
    assert_one_line_error(result, "--ood small.npz", "8x8x1", "28x28x1")
