"""ensemble.tuning._pruning: trials pruned inside the Keras epoch loop, or between folds."""

import numpy as np
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from ensemble.tuning import BayesSearchCV
from helpers.tuning import BAD_LR, GOOD_LR, TINY_SGD, NoisyClassifier, tiny_member


def test_pruning_stops_trials_in_the_bad_region_and_saves_epochs(images):
    X, y, _, _ = images
    space = {"learning_rate": CategoricalDistribution([GOOD_LR, BAD_LR])}

    def search(pruning):
        # The random sampler draws the same learning rates for both runs; with seed 2
        # the bad one comes at trials 2 and 5, after the pruner's 2 start-up trials.
        return BayesSearchCV(tiny_member(), space, n_trials=6, sampler="random", pruning=pruning,
                             random_state=2, refit=False).fit(X, y)

    pruned, unpruned = search(True), search(False)
    np.testing.assert_array_equal(pruned.cv_results_["param_learning_rate"],
                                  unpruned.cv_results_["param_learning_rate"])
    states = pruned.cv_results_["state"]
    learning_rates = pruned.cv_results_["param_learning_rate"]
    assert list(learning_rates[states == "PRUNED"]) == [BAD_LR, BAD_LR]
    assert set(unpruned.cv_results_["state"]) == {"COMPLETE"}
    assert pruned.cv_results_["epochs"].sum() < unpruned.cv_results_["epochs"].sum()
    assert (pruned.cv_results_["epochs"][states == "PRUNED"] < TINY_SGD["epochs"]).all()
    assert pruned.n_trials_ == 6  # pruned trials count as finished
    assert pruned.best_params_ == {"learning_rate": GOOD_LR}
    # What the pruner judged: the search's score after every epoch, up to the pruned one.
    for trial in pruned.study_.trials:
        if trial.state == TrialState.PRUNED:
            assert sorted(trial.intermediate_values) == list(range(trial.user_attrs["epochs"]))
            assert trial.user_attrs["pruned_step"] == trial.user_attrs["epochs"] - 1


def test_other_estimators_are_pruned_between_folds(tabular):
    X, y = tabular
    space = {"noise": CategoricalDistribution([0.0, 0.9])}
    search = BayesSearchCV(NoisyClassifier(), space, n_trials=8, cv=4, sampler="random",
                           random_state=0).fit(X, y)
    results = search.cv_results_
    pruned = results["state"] == "PRUNED"
    assert pruned.any() and set(results["param_noise"][pruned]) == {0.9}
    assert search.best_params_ == {"noise": 0.0}
    assert (results["epochs"] == 0).all()  # no networks
    for trial in search.study_.trials:
        if trial.state == TrialState.PRUNED:
            assert len(trial.user_attrs["split_scores"]) < 4  # its last folds were skipped
    assert not np.isnan(results["split3_test_score"][results["state"] == "COMPLETE"]).any()


def test_a_reporter_survives_the_deep_copy_every_member_fit_makes():
    import copy

    from ensemble.tuning._pruning import EpochScoreReporter

    reporter = EpochScoreReporter(trial=object(), scorer=None, X_valid=None, y_valid=None,
                                  classes=None)
    assert copy.deepcopy(reporter) is reporter
    assert copy.deepcopy([reporter])[0] is reporter
