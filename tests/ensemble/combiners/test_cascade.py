"""CascadeEnsemble: the threshold keeps the accuracy, and each row is answered by its stage."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from ensemble import WeightedAverageEnsemble
from ensemble.combiners.cascade import CascadeEnsemble, _lowest_threshold
from helpers import tiny_plain_and_separable
from members.utils.prediction import predict_in_batches


@pytest.fixture(scope="module")
def ensemble(tiny_split):
    X, y, _, _ = tiny_split
    return WeightedAverageEnsemble(tiny_plain_and_separable(plain_tta="flip+shift"),
                                   weighting="equal", holdout=0.3, random_state=0).fit(X, y)


@pytest.mark.parametrize("tolerance", [0.0, 0.05])
def test_the_chosen_threshold_keeps_the_accuracy_on_the_rows_it_was_chosen_on(
        ensemble, tiny_split, tolerance):
    _, _, X_test, y_test = tiny_split
    cascade = CascadeEnsemble(ensemble, tolerance=tolerance).fit(X_test, y_test)
    scores = cascade.fit_scores_
    assert scores["accuracy"] >= scores["ensemble_accuracy"] - tolerance
    assert scores["accuracy"] == pytest.approx(np.mean(cascade.predict(X_test) == y_test))
    _, stages = cascade.predict_stages(X_test)
    assert scores["first_stage_share"] == pytest.approx(np.mean(stages == 0))


def test_each_row_is_answered_by_its_stage_and_the_ensemble_keeps_its_tta(ensemble, tiny_split):
    _, _, X_test, y_test = tiny_split
    cascade = CascadeEnsemble(ensemble, first_member="plain", tolerance=0.05).fit(X_test, y_test)
    proba, stages = cascade.predict_stages(X_test)
    plain = ensemble.named_members_["plain"]
    assert plain.tta == "flip+shift", "the first stage is a copy: the member keeps its TTA"
    early, later = stages == 0, stages == 1
    assert early.any()
    # One pass of the same fitted network, run here without the member's machinery.
    rows = X_test[early].reshape(int(early.sum()), -1).astype("float32")
    single = predict_in_batches(plain.model_, rows).astype(np.float64)
    np.testing.assert_allclose(proba[early], single / single.sum(axis=1, keepdims=True),
                               atol=1e-6)
    assert np.all(proba[early].max(axis=1) >= cascade.threshold_)
    if later.any():
        np.testing.assert_allclose(proba[later], ensemble.predict_proba(X_test[later]))


def test_the_threshold_is_the_lowest_that_keeps_the_accuracy_and_never_splits_ties():
    right = np.array([True, True, True, True])
    confidence = np.array([0.9, 0.8, 0.7, 0.6])
    first = np.array([True, True, False, True])
    assert _lowest_threshold(confidence, first, right, 0.0) == 0.8
    assert _lowest_threshold(confidence, first, right, 0.25) == 0.6
    tied = _lowest_threshold(np.array([0.9, 0.9, 0.5]), np.array([True, False, True]),
                             np.array([True, True, True]), 0.0)
    assert tied == float("inf")  # answering the 0.9 rows loses one: nothing is answered early


def test_parameters_and_bad_input(ensemble, tiny_split):
    _, _, X_test, y_test = tiny_split
    cascade = CascadeEnsemble(ensemble, tolerance=0.01)
    cloned = clone(cascade)
    assert cloned.get_params()["tolerance"] == 0.01 and cloned.ensemble is ensemble
    assert cloned.fit(X_test, y_test).threshold_ > 0  # the fitted ensemble is shared, not refit
    with pytest.raises(ValueError, match="X has 50 rows but y has 49"):
        CascadeEnsemble(ensemble).fit(X_test, y_test[:-1])
    assert CascadeEnsemble(ensemble).fit(X_test, y_test).first_member_ == "plain"  # equal: first
    with pytest.raises(ValueError, match="first_member must be one of"):
        CascadeEnsemble(ensemble, first_member="vgg").fit(X_test, y_test)
    with pytest.raises(ValueError, match="tolerance"):
        CascadeEnsemble(ensemble, tolerance=2).fit(X_test, y_test)
    with pytest.raises(NotFittedError):
        CascadeEnsemble(WeightedAverageEnsemble(tiny_plain_and_separable())).fit(X_test, y_test)
    with pytest.raises(NotFittedError):
        CascadeEnsemble(ensemble).predict(X_test)


def test_a_cascade_rule_is_kept_in_the_archive_and_dropped_by_a_refit(tiny_split, tmp_path):
    from ensemble import load, save

    X, y, X_test, y_test = tiny_split
    ensemble = WeightedAverageEnsemble(tiny_plain_and_separable(), weighting="equal",
                                       holdout=0.3, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="no cascade rule: call set_cascade"):
        CascadeEnsemble.from_rule(ensemble)
    assert ensemble.set_cascade(X_test, y_test, tolerance=0.05) is ensemble
    direct = CascadeEnsemble(ensemble, tolerance=0.05).fit(X_test, y_test)
    assert ensemble.cascade_ == direct.rule_
    save(ensemble, tmp_path / "m.zip")
    loaded = load(tmp_path / "m.zip")
    assert loaded.cascade_ == ensemble.cascade_
    rebuilt = CascadeEnsemble.from_rule(loaded)
    proba, stages = rebuilt.predict_stages(X_test)
    expected, expected_stages = direct.predict_stages(X_test)
    np.testing.assert_array_equal(stages, expected_stages)
    np.testing.assert_allclose(proba, expected, atol=1e-6)
    ensemble.fit(X, y)
    assert not hasattr(ensemble, "cascade_")


def test_a_rule_that_never_answers_early_survives_the_archive(ensemble, tmp_path):
    from ensemble import load, save

    ensemble.cascade_ = dict(first_member="plain", threshold=float("inf"), tolerance=0.0,
                             n_rows=10, accuracy=0.5, ensemble_accuracy=0.5,
                             first_stage_share=0.0)
    try:
        save(ensemble, tmp_path / "never.zip")
    finally:
        del ensemble.cascade_
    assert load(tmp_path / "never.zip").cascade_["threshold"] == float("inf")
    bad = dict(first_member="nobody", threshold=0.5, tolerance=0.0, n_rows=10, accuracy=0.5,
               ensemble_accuracy=0.5, first_stage_share=0.0)
    ensemble.cascade_ = bad
    try:
        with pytest.raises(TypeError, match="cascade.first_member must name a member"):
            save(ensemble, tmp_path / "bad.zip")
    finally:
        del ensemble.cascade_


def test_a_stacking_ensemble_keeps_its_rule_and_a_tampered_rule_is_refused(tiny_split, tmp_path):
    import json
    import zipfile

    from ensemble import StackingEnsemble, load, save

    X, y, X_test, y_test = tiny_split
    stacking = StackingEnsemble(tiny_plain_and_separable(), holdout=0.3, random_state=0).fit(X, y)
    stacking.set_cascade(X_test, y_test, tolerance=0.05)
    assert stacking.cascade_["first_member"] == stacking.best_member_
    save(stacking, tmp_path / "s.zip")
    assert load(tmp_path / "s.zip").cascade_ == stacking.cascade_

    with zipfile.ZipFile(tmp_path / "s.zip") as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(contents["manifest.json"])
    manifest["estimator"]["cascade"]["first_member"] = "intruder"
    contents["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(tmp_path / "tampered.zip", "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match="Invalid archive: cascade.first_member"):
        load(tmp_path / "tampered.zip")
