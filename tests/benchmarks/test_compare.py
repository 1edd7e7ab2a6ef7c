"""benchmarks/compare.py: the quick comparison's code path, run once on a tiny slice.

benchmarks/ is not a package: pyproject.toml puts the folder on pytest's
sys.path, so the script is imported as ``compare``, and imports its own
helpers (``_common`` and the ``_compare_*`` modules) as it does when run.
"""

import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDS = 2
#: One of the three default members: every method trains each of them, and
#: the rows and costs are the same with one as with three (the weights costs
#: use synthetic members).
MEMBERS = ["plain"]
OUTPUT = "compare_test"

MAIN_ROWS = ["log-loss", "equal", "caruana", "stacking-holdout"]
PEER_ROWS = ["stacking-cv", "sklearn-voting", "sklearn-stacking", "keras-voting",
             "keras-voting-fixed", "scikeras-voting"]
#: Rows that work with the pinned dependencies; the other two record what
#: happens with Keras's wrapper as shipped and with scikeras (absent on CI).
MUST_WORK = MEMBERS + MAIN_ROWS + ["stacking-cv", "sklearn-voting", "sklearn-stacking",
                                   "keras-voting-fixed"]


@pytest.fixture(scope="module")
def compare():
    import compare

    return compare


@pytest.fixture(scope="module")
def run(compare, tmp_path_factory):
    """One tiny quick run: 300 training images, 1 epoch, 2 folds."""
    folder = tmp_path_factory.mktemp("compare")
    payload = compare.main([
        "--quick", "--n-train", "300", "--n-test", "200", "--epochs", "1", "--cv", str(FOLDS),
        "--members", *MEMBERS, "--weight-rows", "1000", "--repeats", "1",
        "--results-dir", str(folder), "--output-name", OUTPUT,
    ])
    return payload, folder


def rows_by_id(payload):
    return {row["id"]: row for row in payload["rows"]}


@pytest.mark.slow
def test_every_row_is_present_with_numbers_or_a_reason(run):
    payload, _ = run
    assert [row["id"] for row in payload["rows"]] == MEMBERS + MAIN_ROWS + PEER_ROWS
    for row in payload["rows"]:
        has_scores = all(row.get(key) is not None for key in ("accuracy", "log_loss"))
        assert has_scores or row["reason"], row


@pytest.mark.slow
def test_the_working_rows_have_scores_in_valid_ranges(run):
    rows = rows_by_id(run[0])
    for row_id in MUST_WORK:
        row = rows[row_id]
        assert row["reason"] is None, row
        assert 0 <= row["accuracy"] <= 1
        assert row["log_loss"] >= 0
        assert 0 <= row["brier"] <= 2
        assert 0 <= row["ece"] <= 1
        assert row["train_seconds"] > 0 and row["predict_seconds"] > 0
        assert row["data"] == "sample 300"


@pytest.mark.slow
def test_network_fits_are_those_each_method_performs(run):
    rows = rows_by_id(run[0])
    n = len(MEMBERS)
    for name in MEMBERS:
        assert rows[name]["network_fits"] == 1
    assert rows["log-loss"]["network_fits"] == n
    assert rows["log-loss"]["network_fits_counted"] == n
    for row_id in ("equal", "caruana", "stacking-holdout"):
        assert (rows[row_id]["network_fits"], rows[row_id]["new_network_fits"]) == (n, 0)
    # Out-of-fold: k fold fits and one final fit per member, ours and scikit-learn's.
    for row_id in ("stacking-cv", "sklearn-stacking"):
        assert rows[row_id]["network_fits"] == (FOLDS + 1) * n
        assert rows[row_id]["network_fits_counted"] == (FOLDS + 1) * n
    for row_id in ("sklearn-voting", "keras-voting-fixed"):
        assert rows[row_id]["network_fits_counted"] == n
    # Keras's wrapper as shipped fits (then fails to predict, with Keras 3.15).
    assert rows["keras-voting"]["network_fits_counted"] in (0, n)


@pytest.mark.slow
def test_times_are_relative_to_the_log_loss_ensemble(run):
    rows = rows_by_id(run[0])
    reference = rows["log-loss"]["train_seconds"]
    assert rows["log-loss"]["relative_time"] == pytest.approx(1.0)
    for row in rows.values():
        if row.get("train_seconds") is not None:
            assert row["relative_time"] == pytest.approx(row["train_seconds"] / reference)
    # Combiners learned from the kept blend cost the members' training and a little more.
    for row_id in ("equal", "caruana", "stacking-holdout"):
        assert rows[row_id]["train_seconds"] >= reference


@pytest.mark.slow
def test_costs_are_measured(run):
    costs = {row["id"]: row for row in run[0]["costs"]}
    expected = ([f"overhead-{name}" for name in MEMBERS] + ["parallel"]
                + [f"weights-{n}" for n in (2, 5, 10, 20)] + ["predict"])
    assert list(costs) == expected
    for row in costs.values():
        assert "reason" not in row, row
        assert row["seconds"] > 0 and row["against_seconds"] > 0 and row["ratio"] > 0


@pytest.mark.slow
def test_json_markdown_and_plot_are_written_to_the_results_dir(run):
    payload, folder = run
    written = json.loads((folder / f"{OUTPUT}.json").read_text())
    assert [row["id"] for row in written["rows"]] == [row["id"] for row in payload["rows"]]
    assert written["machine"]["cpu_cores"] >= 1
    markdown = (folder / f"{OUTPUT}.md").read_text()
    for row in payload["rows"]:
        assert f"| {row['name']} |" in markdown
    assert "Costs:" in markdown
    assert (folder / f"{OUTPUT}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The committed results are never touched by a test.
    assert not list((ROOT / "benchmarks" / "results").glob(f"{OUTPUT}.*"))


@pytest.mark.slow
def test_keras_fit_is_restored_after_counting(run):
    import keras

    assert "fit" not in keras.Model.__dict__


def test_full_mode_plan_fits_in_90_minutes_by_the_estimate(compare):
    """The full run's training, every epoch run, from the measured per-epoch timings."""
    args = compare.parse_args([])
    assert (args.subset, args.epochs, args.cv) == (10_000, None, 5)
    rows = np.zeros((60_000, 1))
    subset = np.zeros((args.subset, 1))
    data = compare.Data(rows, rows[:, 0], subset, subset[:, 0], rows[:10_000], rows[:10_000, 0],
                        "full", True)
    estimate = compare.estimated_seconds(args, data)
    assert estimate["total"] <= 90 * 60
    assert estimate["stacking-cv"] == pytest.approx(estimate["sklearn-stacking"])


def test_a_failure_becomes_a_one_line_reason(compare):
    error = ValueError("first line | with a pipe\nsecond line")
    assert compare.one_line(error) == "ValueError: first line / with a pipe"
