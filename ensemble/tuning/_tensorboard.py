"""Trials as TensorBoard HParams sessions: one run folder per trial under ``tensorboard_dir``.

TensorFlow is imported inside the functions (quietly), only for searches
that log.
"""

import numbers
from pathlib import Path

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

#: The trial states as the ``state`` hyper-parameter shows them (filterable in the HParams table).
STATES = ("COMPLETE", "PRUNED", "FAIL")


def _summary_modules():
    from members.utils.quiet import import_keras_quietly

    import_keras_quietly()  # TensorFlow's start-up lines stay off the terminal
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    return tf, hp


def run_folder(tensorboard_dir, trial_number):
    """The run folder of one trial: ``trial_0007`` sorts in trial order in TensorBoard."""
    return Path(tensorboard_dir) / f"trial_{trial_number:04d}"


def write_experiment(tensorboard_dir, distributions, score_name):
    """The HParams experiment (its hyper-parameters with their domains, and the metrics).

    Written once per fit at the top of ``tensorboard_dir``; several
    processes sharing a study each write the same description.
    """
    tf, hp = _summary_modules()
    hparams = [_hparam(hp, name, distribution) for name, distribution in distributions.items()]
    hparams.append(hp.HParam("state", hp.Discrete(list(STATES))))
    metrics = [
        hp.Metric("score", display_name=f"validation {score_name}"),
        hp.Metric("epochs", display_name="epochs trained"),
        hp.Metric("fit_time", display_name="seconds"),
    ]
    with tf.summary.create_file_writer(str(tensorboard_dir)).as_default() as writer:
        hp.hparams_config(hparams=hparams, metrics=metrics)
        writer.flush()


def write_trial(tensorboard_dir, trial):
    """One finished trial: its parameters and state, its final score, its per-step scores.

    Parameters
    ----------
    tensorboard_dir : str or os.PathLike
    trial : optuna.trial.FrozenTrial
    """
    tf, hp = _summary_modules()
    values = {name: _hparam_value(value) for name, value in trial.params.items()}
    values["state"] = trial.state.name
    run = str(run_folder(tensorboard_dir, trial.number))
    with tf.summary.create_file_writer(run).as_default() as writer:
        hp.hparams(values, trial_id=f"trial_{trial.number:04d}")
        # The curve the pruner judged: score after each epoch (members) or split.
        for step, value in sorted(trial.intermediate_values.items()):
            tf.summary.scalar("intermediate_score", value, step=step)
        if trial.value is not None:
            tf.summary.scalar("score", trial.value, step=0)
        tf.summary.scalar("epochs", trial.user_attrs.get("epochs", 0), step=0)
        tf.summary.scalar("fit_time", trial.user_attrs.get("fit_time", 0.0), step=0)
        writer.flush()


def _hparam(hp, name, distribution):
    if isinstance(distribution, IntDistribution):
        return hp.HParam(name, hp.IntInterval(distribution.low, distribution.high))
    if isinstance(distribution, FloatDistribution):
        return hp.HParam(name, hp.RealInterval(float(distribution.low), float(distribution.high)))
    if isinstance(distribution, CategoricalDistribution):
        values = [_hparam_value(choice) for choice in distribution.choices]
        # A Discrete domain holds values of one type; mixed choices get none.
        if len({type(value) for value in values}) == 1:
            return hp.HParam(name, hp.Discrete(values))
    return hp.HParam(name)


def _hparam_value(value):
    """HParams take booleans, numbers and strings; anything else is shown as text."""
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return str(value)
