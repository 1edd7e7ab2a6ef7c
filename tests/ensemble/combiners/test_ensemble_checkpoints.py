"""An ensemble's checkpoint_dir: a killed fit keeps the members that finished."""

import json
import textwrap

import numpy as np
import pytest

from ensemble import StackingEnsemble, WeightedAverageEnsemble, load, save
from helpers import EpochLog, epochs_begun, kill_when, tiny_plain

NAMES = ("first", "second", "third")
EPOCHS = 4


def make_ensemble(log_folder, checkpoint_dir, seconds_per_batch=0.0, **params):
    """Three tiny CNN members, each logging the epochs it runs to its own file."""
    members = [
        (name, tiny_plain(epochs=EPOCHS, early_stopping_patience=None, random_state=index,
                          callbacks=[EpochLog(f"{log_folder}/{name}.log", seconds_per_batch)]))
        for index, name in enumerate(NAMES)
    ]
    settings = dict(holdout=0.3, random_state=0, n_jobs=1, checkpoint_dir=checkpoint_dir)
    settings.update(params)
    return WeightedAverageEnsemble(members, **settings)


def finished(checkpoint_dir, name, stage="holdout"):
    return (checkpoint_dir / name / stage / "final.json").is_file()


@pytest.mark.slow
def test_a_killed_ensemble_fit_reuses_the_members_that_finished(tiny_images, tmp_path):
    X, y = tiny_images
    checkpoints = tmp_path / "checkpoints"
    killed_logs, rerun_logs = tmp_path / "killed", tmp_path / "rerun"
    killed_logs.mkdir()
    rerun_logs.mkdir()
    source = textwrap.dedent(__import__("inspect").getsource(make_ensemble))
    kill_when(source + f"""
from ensemble import WeightedAverageEnsemble
NAMES, EPOCHS = {NAMES!r}, {EPOCHS}
X, y = make_tiny_images()
make_ensemble({str(killed_logs)!r}, {str(checkpoints)!r}, seconds_per_batch=0.03).fit(X, y)
""", ready=lambda: finished(checkpoints, "second"))
    assert not finished(checkpoints, "third")
    third_done = epochs_begun(killed_logs / "third.log")

    learned = make_ensemble(rerun_logs, checkpoints).fit(X, y)

    # The two members that finished are loaded: not one epoch of them ran again.
    assert epochs_begun(rerun_logs / "first.log") == []
    assert epochs_begun(rerun_logs / "second.log") == []
    # The third resumes after its last finished epoch (or starts, if it had none).
    resumed_from = epochs_begun(rerun_logs / "third.log")[0]
    assert resumed_from <= len(third_done)
    assert epochs_begun(rerun_logs / "third.log") == list(range(resumed_from, EPOCHS))
    for member in learned.members_:
        assert member.history_["epoch"] == list(range(EPOCHS))
    assert learned.score(X, y) > 0.5


def test_out_of_fold_fits_each_get_a_folder_and_are_reused(tiny_images, tmp_path):
    X, y = tiny_images
    checkpoints = tmp_path / "checkpoints"
    members = [("plain", tiny_plain(epochs=2, callbacks=[EpochLog(tmp_path / "first.log")]))]
    first = StackingEnsemble(members, cv=2, checkpoint_dir=checkpoints).fit(X, y)
    assert sorted(path.name for path in (checkpoints / "plain").iterdir()) == [
        "all", "fold-0", "fold-1"]
    assert len(epochs_begun(tmp_path / "first.log")) == 3 * 2

    members = [("plain", tiny_plain(epochs=2, callbacks=[EpochLog(tmp_path / "second.log")]))]
    second = StackingEnsemble(members, cv=2, checkpoint_dir=checkpoints).fit(X, y)
    assert epochs_begun(tmp_path / "second.log") == []
    np.testing.assert_array_equal(second.predict_proba(X), first.predict_proba(X))


def test_a_held_out_split_needs_a_fixed_seed_to_checkpoint(tiny_images, tmp_path):
    X, y = tiny_images
    with pytest.raises(ValueError, match="needs an int random_state"):
        make_ensemble(tmp_path, tmp_path / "checkpoints", random_state=None).fit(X, y)


def test_checkpoint_dir_that_is_a_file_is_refused(tiny_images, tmp_path):
    X, y = tiny_images
    (tmp_path / "file").write_text("mine")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        make_ensemble(tmp_path, tmp_path / "file").fit(X, y)
    assert (tmp_path / "file").read_text() == "mine"


@pytest.mark.slow
def test_a_save_killed_midway_leaves_the_earlier_file_loadable(tiny_images, tmp_path):
    X, y = tiny_images
    path = tmp_path / "model.kens"
    original = tiny_plain().fit(X, y)
    save(original, path)
    expected = original.predict_proba(X)

    def temporary_file_present():
        return any(entry.name.endswith(".tmp") for entry in tmp_path.iterdir())

    # The child overwrites the file again and again with another model; it is
    # killed while a temporary copy is being written.
    kill_when(f"""
        from ensemble import save
        X, y = make_tiny_images()
        other = tiny_plain(random_state=1, epochs=1).fit(X, y)
        while True:
            save(other, {str(path)!r}, overwrite=True)
    """, ready=temporary_file_present)
    restored = load(path)  # whichever complete file the rename left there
    proba = restored.predict_proba(X)
    assert proba.shape == expected.shape
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_checkpoint_files_record_what_was_trained(tiny_images, tmp_path):
    X, y = tiny_images
    make_ensemble(tmp_path, tmp_path / "checkpoints").fit(X, y)
    record = json.loads((tmp_path / "checkpoints" / "first" / "holdout" / "final.json").read_text())
    assert record["fingerprint"]["epochs"] == EPOCHS
    assert len(record["fingerprint"]["data_sha256"]) == 64


def test_a_shuffling_cv_without_a_seed_is_refused(tiny_images, tmp_path):
    from sklearn.model_selection import StratifiedKFold

    X, y = tiny_images
    learned = make_ensemble(tmp_path, tmp_path / "checkpoints",
                            cv=StratifiedKFold(2, shuffle=True))
    with pytest.raises(ValueError, match="shuffling cv needs the splitter's random_state"):
        learned.fit(X, y)


@pytest.mark.parametrize("name", ["../escape", "a/b", ".."])
def test_member_names_that_are_not_folder_names_are_refused(name, tiny_images, tmp_path):
    X, y = tiny_images
    learned = WeightedAverageEnsemble([(name, tiny_plain())], random_state=0,
                                      checkpoint_dir=tmp_path / "checkpoints")
    with pytest.raises(ValueError, match="can't name a checkpoint folder"):
        learned.fit(X, y)
    assert not (tmp_path / "escape").exists()
