"""benchmarks/trust.py and precise_bn.py: the rows and summaries they print (no training here)."""

import numpy as np

import precise_bn
import trust


def run(size, seed, combiner, loss_gain, accuracy_gain, chosen="best_member"):
    return {"size": size, "seed": seed, "combiner": combiner, "chosen": chosen,
            "log_loss_gain": loss_gain, "accuracy_gain": accuracy_gain,
            "log_loss_within_slack": -loss_gain <= trust.LOG_LOSS_SLACK,
            "accuracy_within_binomial": -accuracy_gain <= 0.02}


def test_the_summary_shows_the_distribution_and_counts_the_runs_that_miss():
    rows = [run(600, 0, trust.COMBINERS[0], 0.01, 0.0, "log_loss"),
            run(600, 1, trust.COMBINERS[0], -0.005, -0.03),
            run(600, 2, trust.COMBINERS[0], 0.0, 0.001)]
    (summary,) = trust.summary_rows(rows)
    assert summary["loss_min"] == -0.005 and summary["loss_max"] == 0.01
    assert summary["loss_median"] == 0.0
    assert summary["loss_ok"] == "2/3" and summary["acc_ok"] == "2/3"
    assert summary["chosen"] == "best_member 2, log_loss 1"


def test_training_rows_are_a_stratified_subsample_or_everything():
    y = np.arange(1000) % 10
    rows = trust.training_rows(100, 0, y)
    assert len(rows) == 100 and np.all(np.bincount(y[rows]) == 10)
    assert np.array_equal(trust.training_rows(1000, 0, y), np.arange(1000))
    assert np.array_equal(trust.training_rows(100, 0, y), trust.training_rows(100, 0, y))


def test_precise_bn_rows_pair_the_two_fits_of_one_member_size_and_seed():
    base = {"member": "plain", "size": 600, "seed": 0, "seconds": 1.0}
    runs = [dict(base, precise_bn=False, accuracy=0.5, log_loss=1.2, train_inference=0.4,
                 train_batch_statistics=0.9),
            dict(base, precise_bn=True, accuracy=0.7, log_loss=0.8, train_inference=0.9,
                 train_batch_statistics=0.9)]
    (row,) = precise_bn.paired_rows(runs)
    assert (row["accuracy_moving"], row["accuracy_precise"]) == (0.5, 0.7)
    assert row["train_gap_moving"] == 0.5 and row["train_gap_precise"] == 0.0
