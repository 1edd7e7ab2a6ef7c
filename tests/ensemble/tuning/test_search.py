"""ensemble.tuning.BayesSearchCV: the best trial and its refit, scikit-learn's
conventions, combiners' nested names, and settings refused before any training."""

import subprocess
import sys

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState
from sklearn.base import clone
from sklearn.naive_bayes import GaussianNB

from ensemble import WeightedAverageEnsemble
from ensemble.tuning import BayesSearchCV, study_storage
from helpers.tuning import C_SPACE, SlowClassifier, tiny_member


def test_the_best_trial_is_the_best_scored_one_and_is_refitted_on_all_data(member_search, images):
    X, y, X_unseen, _ = images
    search = member_search
    results = search.cv_results_
    complete = results["state"] == "COMPLETE"
    best_row = int(np.nanargmax(np.where(complete, results["mean_test_score"], np.nan)))
    assert search.best_index_ == best_row
    assert search.best_trial_.number == results["number"][best_row]
    assert search.best_score_ == results["mean_test_score"][best_row] == search.best_trial_.value
    assert search.best_score_ == max(t.value for t in search.study_.trials
                                     if t.state == TrialState.COMPLETE)
    assert search.best_params_ == search.best_trial_.params == results["params"][best_row]
    assert search.n_trials_ == 4 and len(results["number"]) == 4
    for name, value in search.best_params_.items():
        assert search.best_estimator_.get_params()[name] == value
        assert results[f"param_{name}"][best_row] == value
    # Fitted on all 160 rows: the same fit done by hand predicts the same (seeded, CPU).
    by_hand = clone(tiny_member(epochs=2)).set_params(**search.best_params_).fit(X, y)
    np.testing.assert_allclose(search.predict_proba(X_unseen), by_hand.predict_proba(X_unseen),
                               atol=1e-6)
    np.testing.assert_array_equal(search.predict(X_unseen), by_hand.predict(X_unseen))
    np.testing.assert_array_equal(search.classes_, np.arange(4))
    assert search.refit_time_ > 0


def test_a_fitted_search_pickles_with_its_study(member_search, images):
    import pickle

    _, _, X_unseen, _ = images
    restored = pickle.loads(pickle.dumps(member_search))
    assert restored.best_params_ == member_search.best_params_
    assert len(restored.study_.trials) == 4
    np.testing.assert_allclose(restored.predict_proba(X_unseen),
                               member_search.predict_proba(X_unseen), atol=1e-6)


def test_clone_and_get_params_follow_scikit_learn(tmp_path):
    storage = study_storage(f"sqlite:///{tmp_path / 'study.db'}")
    search = BayesSearchCV(tiny_member(), {"learning_rate": FloatDistribution(1e-3, 1e-1)},
                           n_trials=3, storage=storage, sampler="random", pruning=False)
    params = search.get_params()
    assert params["n_trials"] == 3 and params["estimator__learning_rate"] == 1e-3
    cloned = clone(search)
    assert cloned.get_params()["estimator__epochs"] == 4
    assert cloned.param_distributions == search.param_distributions
    assert cloned.param_distributions is not search.param_distributions
    cloned.set_params(estimator__epochs=2, n_trials=5)
    assert cloned.estimator.epochs == 2 and search.estimator.epochs == 4
    # __init__ validates nothing (scikit-learn's convention): errors come from fit.
    BayesSearchCV(None, "not a space", n_trials=-1, sampler="nope")


def test_a_combiners_members_are_searched_through_nested_names(images):
    X, y, X_unseen, _ = images
    combiner = WeightedAverageEnsemble(
        [("wide", tiny_member(epochs=2)),
         ("narrow", tiny_member(epochs=2, build_params={"units": 8}))],
        holdout=0.3, random_state=0)
    space = {"wide__learning_rate": FloatDistribution(1e-3, 1e-1, log=True),
             "narrow__batch_size": CategoricalDistribution([16, 32])}
    search = BayesSearchCV(combiner, space, n_trials=2, random_state=0).fit(X, y)
    fitted = search.best_estimator_.named_members_
    assert fitted["wide"].learning_rate == search.best_params_["wide__learning_rate"]
    assert fitted["narrow"].batch_size == search.best_params_["narrow__batch_size"]
    # Epochs of both members; one holdout split: a combiner is never pruned.
    assert (search.cv_results_["epochs"] == 4).all()
    assert set(search.cv_results_["state"]) == {"COMPLETE"}
    assert search.predict_proba(X_unseen).shape == (len(X_unseen), 4)


# --- bad input, before any training ---------------------------------------------


class _MustNotFit(SlowClassifier):
    def fit(self, X, y):  # pragma: no cover - the point is that it is never called
        raise AssertionError("fit must not be called on bad input")


@pytest.mark.parametrize("params, error, match", [
    ({"param_distributions": {"C_typo": FloatDistribution(0.1, 1)}}, ValueError,
     "Invalid parameter 'C_typo' for estimator _MustNotFit"),
    ({"param_distributions": {"C": [0.1, 1.0]}}, TypeError, "must be an optuna distribution"),
    ({"param_distributions": {}}, ValueError, "at least one parameter"),
    ({"param_distributions": [("C", FloatDistribution(0.1, 1))]}, TypeError, "must be a dict"),
    ({"n_trials": 0}, ValueError, "n_trials must be an int >= 1"),
    ({"n_trials": 2.5}, ValueError, "n_trials must be an int >= 1"),
    ({"sampler": "bayes"}, ValueError, "sampler must be one of"),
    ({"pruning": "median"}, ValueError, "pruning must be True, False or an optuna pruner"),
    ({"holdout": 1.5}, ValueError, "holdout must be a float in"),
    ({"timeout": 0}, ValueError, "timeout must be None or a number > 0"),
    ({"n_jobs": 0}, ValueError, "n_jobs must be an int >= 1"),
    ({"storage": "study.db"}, ValueError, "SQLAlchemy URL"),
    ({"storage": 3}, TypeError, "storage must be None"),
    ({"study_name": 3}, TypeError, "study_name must be None or a str"),
    ({"tensorboard_dir": 3}, TypeError, "tensorboard_dir must be None, a str or a path"),
    ({"verbose": -1}, ValueError, "verbose must be an int >= 0"),
])
def test_bad_settings_are_refused_before_any_training(params, error, match, tabular):
    X, y = tabular
    settings = dict(param_distributions=C_SPACE, n_trials=2)
    settings.update(params)
    with pytest.raises(error, match=match):
        BayesSearchCV(_MustNotFit(), **settings).fit(X, y)


def test_a_checkpoint_dir_anywhere_in_the_searched_estimator_is_refused(tmp_path, images):
    X, y, _, _ = images
    space = {"learning_rate": FloatDistribution(1e-3, 1e-1, log=True)}
    member = tiny_member(checkpoint_dir=tmp_path / "ckpt")
    with pytest.raises(ValueError, match="checkpoint_dir=.*trials would share one folder"):
        BayesSearchCV(member, space, n_trials=2).fit(X, y)
    combiner = WeightedAverageEnsemble([("a", tiny_member()), ("b", member)])
    with pytest.raises(ValueError, match="b__checkpoint_dir=.*trials would share one folder"):
        BayesSearchCV(combiner, {"a__learning_rate": space["learning_rate"]}, n_trials=2).fit(X, y)
    combiner = WeightedAverageEnsemble([("a", tiny_member())], checkpoint_dir=tmp_path / "ens")
    with pytest.raises(ValueError, match="parameter checkpoint_dir=.*share one folder"):
        BayesSearchCV(combiner, {"a__learning_rate": space["learning_rate"]}, n_trials=2).fit(X, y)
    assert not any(tmp_path.iterdir()), "refused before anything trained"


def test_verbose_true_shows_progress_and_the_fitted_search_has_n_features_in(tabular, capsys):
    X, y = tabular
    search = BayesSearchCV(GaussianNB(), {"var_smoothing": FloatDistribution(1e-9, 1e-6, log=True)},
                           n_trials=2, verbose=True, random_state=0)
    assert not hasattr(search, "n_features_in_")
    search.fit(X, y)
    assert search.n_features_in_ == X.shape[1] == search.best_estimator_.n_features_in_
    assert "Trials" in capsys.readouterr().err  # the progress bar
    search.set_params(refit=False).fit(X, y)
    with pytest.raises(AttributeError, match="refit=False"):
        _ = search.n_features_in_


class AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return True


def test_a_search_without_a_complete_trial_still_keeps_its_study_and_results(tabular):
    X, y = tabular
    search = BayesSearchCV(SlowClassifier(), C_SPACE, n_trials=3, cv=2, pruning=AlwaysPrune())
    with pytest.raises(ValueError, match="No trial of study .* completed .*'PRUNED': 3"):
        search.fit(X, y)
    assert len(search.study_.trials) == 3
    assert list(search.cv_results_["state"]) == ["PRUNED"] * 3
    assert not hasattr(search, "best_params_")


def test_importing_the_search_imports_no_tensorflow():
    code = ("import sys, ensemble, ensemble.tuning; ensemble.BayesSearchCV; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
