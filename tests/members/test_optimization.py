"""How members optimise: learning-rate schedules, weight decay, label smoothing."""

import numpy as np
import pytest

from helpers import tiny_plain
from members._training import learning_rate_schedule


def test_cosine_schedule_warms_up_then_decays_to_zero():
    schedule = learning_rate_schedule("cosine", 0.01, steps_per_epoch=10, epochs=5,
                                      warmup_epochs=1)
    rates = [float(schedule(step)) for step in (0, 5, 10, 30, 50)]
    assert rates[0] == pytest.approx(0.0)
    assert rates[1] == pytest.approx(0.005)
    assert rates[2] == pytest.approx(0.01)
    assert 0 < rates[3] < 0.01
    assert rates[4] == pytest.approx(0.0, abs=1e-9)


def test_cosine_warm_up_takes_at_most_half_the_training():
    schedule = learning_rate_schedule("cosine", 0.01, steps_per_epoch=10, epochs=1,
                                      warmup_epochs=1)
    assert float(schedule(5)) == pytest.approx(0.01)


@pytest.mark.parametrize("name", ["plateau", "constant"])
def test_other_schedules_start_from_the_learning_rate(name):
    assert learning_rate_schedule(name, 0.01, steps_per_epoch=10, epochs=5, warmup_epochs=1) == 0.01


def test_a_member_follows_the_cosine_schedule(tiny_images):
    X, y = tiny_images
    clf = tiny_plain(epochs=4, lr_schedule="cosine", warmup_epochs=1,
                     early_stopping_patience=None).fit(X, y)
    rates = clf.history_["learning_rate"]
    assert rates[0] == pytest.approx(clf.learning_rate, rel=1e-5)  # the peak after warm-up
    assert rates[0] > rates[1] > rates[2] > rates[3]
    assert rates[3] == pytest.approx(0.0, abs=1e-9)


def test_constant_schedule_keeps_the_rate_and_plateau_reduces_it(tiny_images):
    X, y = tiny_images
    constant = tiny_plain(epochs=3, lr_schedule="constant").fit(X, y)
    assert constant.history_["learning_rate"] == pytest.approx([constant.learning_rate] * 3)


def test_weight_decay_shrinks_the_kernels(tiny_images):
    X, y = tiny_images
    settings = dict(epochs=4, lr_schedule="constant", learning_rate=0.05)
    free = tiny_plain(weight_decay=0.0, **settings).fit(X, y)
    decayed = tiny_plain(weight_decay=2.0, **settings).fit(X, y)

    def norms(clf, kind):
        return sum(float(np.sum(np.square(v))) for v in clf.model_.trainable_weights
                   if v.name == kind)

    assert norms(decayed, "kernel") < 0.8 * norms(free, "kernel")


def test_label_smoothing_softens_the_predictions(tiny_images):
    X, y = tiny_images
    sharp = tiny_plain(epochs=8, label_smoothing=0.0).fit(X, y)
    smooth = tiny_plain(epochs=8, label_smoothing=0.4).fit(X, y)
    assert smooth.predict_proba(X).max(axis=1).mean() < sharp.predict_proba(X).max(axis=1).mean()
    assert smooth.score(X, y) > 0.5


def test_label_smoothing_works_with_class_weight_and_validation(tiny_images):
    X, y = tiny_images
    clf = tiny_plain(label_smoothing=0.1, class_weight="balanced",
                     validation_fraction=0.2).fit(X, y)
    assert "val_loss" in clf.history_ and "val_accuracy" in clf.history_
