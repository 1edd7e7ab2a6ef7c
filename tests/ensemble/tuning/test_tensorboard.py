"""ensemble.tuning._tensorboard: every trial logged to TensorBoard's HParams dashboard."""

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState

from ensemble.tuning import BayesSearchCV
from helpers.tuning import SlowClassifier


def test_every_trial_is_logged_to_tensorboard_hparams(tmp_path, tabular):
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    X, y = tabular
    space = {"C": FloatDistribution(1e-3, 1e2, log=True),
             "delay": CategoricalDistribution([0.0, 0.01])}
    search = BayesSearchCV(SlowClassifier(), space, n_trials=3, cv=2, random_state=0,
                           tensorboard_dir=tmp_path / "tb").fit(X, y)
    runs = sorted(path.name for path in (tmp_path / "tb").iterdir() if path.is_dir())
    assert runs == ["trial_0000", "trial_0001", "trial_0002"]
    assert list((tmp_path / "tb").glob("events.out.tfevents.*")), "the experiment description"
    for number, run in enumerate(runs):
        events = EventAccumulator(str(tmp_path / "tb" / run)).Reload()
        assert events.PluginTagToContent("hparams"), f"{run} has no HParams session"
        tensors = events.Tags()["tensors"]
        assert {"score", "epochs", "fit_time", "intermediate_score"} <= set(tensors)
        trial = search.study_.trials[number]
        if trial.state == TrialState.COMPLETE:
            score = tf.make_ndarray(events.Tensors("score")[0].tensor_proto)
            assert score == pytest.approx(trial.value, rel=1e-6)
