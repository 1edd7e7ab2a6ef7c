"""benchmarks/time_budget.py: kept test probabilities and the paired comparisons (no training)."""

import numpy as np
import pytest
import time_budget


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setattr(time_budget, "PROBAS_DIR", tmp_path / "probas")
    return tmp_path


def run(baseline, accuracy, time_limit="10m", seed=0, commit="abc1234"):
    return {"data": "full", "time_limit": time_limit, "seed": seed, "baseline": baseline,
            "commit": commit, "patience_as_epochs": False, "accuracy": accuracy}


def confident(y, right, n_classes=3):
    """Probabilities of 0.9 on the true class where ``right``, else on the next class."""
    predicted = np.where(right, y, (y + 1) % n_classes)
    return np.eye(n_classes)[predicted] * 0.85 + 0.05


def test_a_budget_run_pairs_with_the_runs_of_its_data_budget_and_seed_only(results):
    y = np.arange(600) % 3
    budget_right = np.ones(600, dtype=bool)
    single_right = np.arange(600) >= 60  # 60 rows fewer right: a measurable difference
    budget, single = run(None, 1.0), run("single", 0.9)
    other_seed = run("single", 0.9, seed=1)
    for row, right in ((budget, budget_right), (single, single_right),
                       (other_seed, single_right)):
        time_budget.save_probas(row, confident(y, right), [0, 1, 2], y)
    text = time_budget.paired_comparisons([budget, single, other_seed])
    assert text.count("\n") == 0  # one pair: the other seed is not compared
    assert "against (single (abc1234))" in text
    assert "accuracy better by 0.1000" in text and "McNemar" in text


def test_the_unbudgeted_trio_pairs_with_every_budget_of_its_data(results):
    y = np.arange(300) % 3
    budget, trio = run(None, 1.0, time_limit="2m"), run("trio", 1.0, time_limit=None)
    for row in (budget, trio):
        time_budget.save_probas(row, confident(y, np.ones(300, dtype=bool)), [0, 1, 2], y)
    text = time_budget.paired_comparisons([budget, trio])
    assert "against (trio (abc1234))" in text and "no measurable difference" in text


def test_kept_probabilities_that_do_not_score_the_reported_accuracy_are_refused(results):
    y = np.arange(300) % 3
    row = run(None, 0.5)
    time_budget.save_probas(row, confident(y, np.ones(300, dtype=bool)), [0, 1, 2], y)
    with pytest.raises(SystemExit, match="score 1.0000, the run reported 0.5000"):
        time_budget.check_stored_accuracy(row)


def test_runs_without_kept_probabilities_are_not_paired(results):
    assert "No two runs" in time_budget.paired_comparisons([run(None, 1.0), run("single", 1.0)])
