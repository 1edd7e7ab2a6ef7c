"""fit --time-limit and cv --time-limit: the plan printed, in --json and the archive; on time."""

import json
import zipfile

import pytest

from helpers import assert_one_line_error, run_cli

#: 300 sample images, seeded; --epochs 1 caps each member at 4 epochs under a budget.
QUICK = ["--n-train", "300", "--seed", "0"]


@pytest.fixture(scope="module")
def budgeted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("budget")
    result = run_cli("fit", "--members", "plain,separable", "--time-limit", "40s", "--epochs", "1",
                     "--output", "model.zip", *QUICK, "--json", cwd=folder)
    return folder, json.loads(result.stdout)


def test_fit_keeps_the_plan_in_json_and_in_the_archive_manifest(budgeted):
    folder, out = budgeted
    plan = out["budget_plan"]
    assert out["time_limit"] == 40
    assert plan["chosen"] in ("ensemble", "scaled_up")
    assert out["fitted_members"] == [entry["name"] for entry in plan["members"]]
    # The probe's measurement is kept, and either both plans raced or the plan
    # says why not (40 s may be too short for two epochs of the scaled-up
    # member here; the race itself is tested in tests/ensemble/combiners).
    race = plan["race"]
    assert race["probe"]["epoch_seconds"] > 0
    raced = [entry["name"] for entry in race["candidates"]]
    assert raced == ["ensemble", "scaled_up"] or race["skipped"]
    with zipfile.ZipFile(folder / "model.zip") as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert json.dumps(plan, sort_keys=True) in json.dumps(manifest, sort_keys=True)


def test_fit_ends_within_its_time_limit(budgeted):
    _, out = budgeted
    assert out["seconds"] <= 40 * 1.05
    # Under a budget --epochs only caps: 4 x --epochs 1.
    assert all(entry["epochs"] <= 4 for entry in out["budget_plan"]["members"])


def test_fit_prints_the_plan_and_says_time_limit_wins_over_epochs(tmp_path):
    result = run_cli("fit", "--members", "plain", "--time-limit", "20s", "--epochs", "1",
                     "--output", "m.zip", *QUICK, cwd=tmp_path)
    assert "--time-limit wins over --epochs" in result.stdout
    assert "Budget " in result.stdout and "chose the " in result.stdout
    assert "plain" in result.stdout


def test_a_budget_too_small_to_train_is_one_line_naming_the_smallest_workable_one(tmp_path):
    result = run_cli("fit", "--members", "plain", "--time-limit", "2s", "--output", "m.zip",
                     *QUICK, cwd=tmp_path, check=False)
    assert_one_line_error(result, "--time-limit 2 s is too small to train anything here",
                          "the smallest workable --time-limit is", status=1)
    assert not (tmp_path / "m.zip").exists()


@pytest.mark.parametrize("text", ["abc", "0", "-5m", "10 parsecs"])
def test_a_time_limit_that_is_no_duration_is_a_usage_error(tmp_path, text):
    result = run_cli("fit", "--time-limit", text, "--output", "m.zip", cwd=tmp_path,
                     check=False)
    assert_one_line_error(result, "--time-limit", status=2)


@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("30m", 1800),
                                           ("1h", 3600), ("1.5h", 5400), ("2min", 120)])
def test_durations(text, seconds):
    from ensemble.cli import build_parser

    args = build_parser().parse_args(["fit", "--time-limit", text, "--output", "m.zip"])
    assert args.time_limit == seconds


def test_cv_shares_its_time_limit_among_folds_and_members(tmp_path):
    result = run_cli("cv", "--members", "plain,separable", "--folds", "2", "--time-limit",
                     "60s", "--epochs", "1", "--out-dir", "oof", *QUICK, "--json", cwd=tmp_path)
    out = json.loads(result.stdout)
    budget = out["budget"]
    assert budget["n_member_fits"] == 4
    assert budget["member_rounds"] == 4  # --n-jobs 1: one fit after another
    assert {row["model"] for row in out["scores"]} == {"plain", "separable", "ensemble"}
