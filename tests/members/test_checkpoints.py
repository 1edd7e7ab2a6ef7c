"""checkpoint_dir under real crashes: SIGKILL mid-training, then the same fit again."""

import json

import keras
import numpy as np
import pytest

from helpers import EpochLog, epochs_begun, kill_when, tiny_plain

EPOCHS = 6
#: Early stopping off, so that an uninterrupted fit runs exactly EPOCHS epochs.
SETTINGS = dict(epochs=EPOCHS, validation_fraction=0.2, early_stopping_patience=None)


def backed_up_epochs(folder):
    """Epochs recorded in a checkpoint folder's backup (0 when it holds none)."""
    state = folder / "backup" / "state.json"
    return json.loads(state.read_text())["epochs"] if state.is_file() else 0


@pytest.mark.slow
def test_a_fit_killed_mid_training_resumes_at_its_last_finished_epoch(tiny_images, tmp_path):
    X, y = tiny_images
    folder = tmp_path / "ckpt"
    kill_when(f"""
        X, y = make_tiny_images()
        callbacks = [EpochLog({str(tmp_path / "killed.log")!r}, seconds_per_batch=0.03)]
        tiny_plain(**{SETTINGS!r}, checkpoint_dir={str(folder)!r}, callbacks=callbacks).fit(X, y)
    """, ready=lambda: backed_up_epochs(folder) >= 2)
    finished_before_kill = backed_up_epochs(folder)
    assert 2 <= finished_before_kill < EPOCHS

    log = tmp_path / "resumed.log"
    resumed = tiny_plain(**SETTINGS, checkpoint_dir=folder, callbacks=[EpochLog(log)]).fit(X, y)

    # Only the epochs the killed process had not finished ran again ...
    assert epochs_begun(log) == list(range(finished_before_kill, EPOCHS))
    # ... and the result has as many epochs as an uninterrupted fit.
    uninterrupted = tiny_plain(**SETTINGS).fit(X, y)
    assert resumed.history_["epoch"] == uninterrupted.history_["epoch"] == list(range(EPOCHS))
    # The optimizer's state came back too: its step count covers every epoch.
    steps_per_epoch = int(np.ceil(0.8 * len(y) / resumed.batch_size))
    assert int(resumed.model_.optimizer.iterations) == EPOCHS * steps_per_epoch
    assert resumed.score(X, y) > 0.6
    assert not (folder / "backup").exists()


def test_a_finished_fit_is_loaded_not_retrained(tiny_images, tmp_path):
    X, y = tiny_images
    folder = tmp_path / "ckpt"
    first = tiny_plain(**SETTINGS, checkpoint_dir=folder).fit(X, y)
    log = tmp_path / "again.log"
    again = tiny_plain(**SETTINGS, checkpoint_dir=folder, callbacks=[EpochLog(log)]).fit(X, y)
    assert epochs_begun(log) == []
    np.testing.assert_array_equal(again.predict_proba(X), first.predict_proba(X))
    assert again.history_ == first.history_


@pytest.mark.parametrize("change", [
    {"epochs": EPOCHS + 1}, {"learning_rate": 0.01}, "other data",
], ids=["more-epochs", "other-setting", "other-data"])
def test_a_finished_fit_of_another_configuration_or_data_is_retrained(change, tiny_images,
                                                                      tmp_path):
    X, y = tiny_images
    folder = tmp_path / "ckpt"
    tiny_plain(**SETTINGS, checkpoint_dir=folder).fit(X, y)
    settings = dict(SETTINGS)
    if change == "other data":
        X = X.copy()
        X[0, 0, 0, 0] ^= 1  # one pixel of 12,800
    else:
        settings.update(change)
    log = tmp_path / "retrained.log"
    refit = tiny_plain(**settings, checkpoint_dir=folder, callbacks=[EpochLog(log)]).fit(X, y)
    assert epochs_begun(log) == list(range(settings["epochs"]))
    assert refit.history_["epoch"] == list(range(settings["epochs"]))


def test_an_interrupted_fit_refuses_other_data(tiny_images, tmp_path):
    X, y = tiny_images
    folder = tmp_path / "ckpt"

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError):
        tiny_plain(**SETTINGS, checkpoint_dir=folder, callbacks=[Crash()]).fit(X, y)
    with pytest.raises(ValueError, match="interrupted fit of a different configuration or data"):
        tiny_plain(**SETTINGS, checkpoint_dir=folder).fit(X[::-1], y[::-1])


def test_reduce_lr_counters_survive_a_resume(tiny_images, tmp_path):
    """Learning-rate reduction goes on from where the interrupted fit's counters stood."""
    X, y = tiny_images
    # A constant validation loss never improves: with patience 2 an
    # uninterrupted fit halves the learning rate after epochs 2 and 4 (0-based: 1, 3, 5).
    settings = dict(SETTINGS, learning_rate=1e-9, reduce_lr_patience=2, reduce_lr_factor=0.5,
                    min_lr=0.0)
    uninterrupted = tiny_plain(**settings).fit(X, y)

    class CrashAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                raise RuntimeError("simulated crash")

    folder = tmp_path / "ckpt"
    with pytest.raises(RuntimeError):
        tiny_plain(**settings, checkpoint_dir=folder, callbacks=[CrashAfter()]).fit(X, y)
    resumed = tiny_plain(**settings, checkpoint_dir=folder).fit(X, y)
    np.testing.assert_allclose(resumed.history_["learning_rate"],
                               uninterrupted.history_["learning_rate"], rtol=1e-6)


def build_module_level_mlp(input_shape, n_classes):
    """A plain function builder: its repr carries a memory address."""
    inputs = keras.Input(input_shape)
    hidden = keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(hidden))


def test_a_function_builder_is_fingerprinted_without_its_address(tiny_images, tmp_path):
    """Another process has the same function at another address: it must still match."""
    from members import KerasMemberClassifier
    from members.utils.fingerprints import stable_repr

    assert "0x" not in stable_repr(build_module_level_mlp)
    assert "test_checkpoints.build_module_level_mlp#" in stable_repr(build_module_level_mlp)
    X, y = tiny_images
    folder = tmp_path / "ckpt"
    KerasMemberClassifier(build_module_level_mlp, epochs=2, checkpoint_dir=folder,
                          random_state=0).fit(X, y)
    run = json.loads((folder / "run.json").read_text())
    assert "0x" not in json.dumps(run)


def make_builder(units):
    """Two calls give two closures with one qualified name."""
    def build(input_shape, n_classes):
        inputs = keras.Input(input_shape)
        hidden = keras.layers.Dense(units, activation="relu")(keras.layers.Flatten()(inputs))
        return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(hidden))
    return build


def test_closures_of_one_factory_are_different_configurations(tiny_images, tmp_path):
    from members import KerasMemberClassifier

    X, y = tiny_images
    folder = tmp_path / "ckpt"
    small = KerasMemberClassifier(make_builder(4), epochs=1, checkpoint_dir=folder,
                                  random_state=0).fit(X, y)
    large = KerasMemberClassifier(make_builder(64), epochs=1, checkpoint_dir=folder,
                                  random_state=0).fit(X, y)
    assert large.model_.count_params() > small.model_.count_params()


def test_a_loaded_finished_fit_is_compiled_and_can_train_on(tiny_images, tmp_path):
    X, y = tiny_images
    tiny_plain(**SETTINGS, checkpoint_dir=tmp_path).fit(X, y)
    again = tiny_plain(**SETTINGS, checkpoint_dir=tmp_path).fit(X, y)
    assert again.model_.optimizer is not None
    again.model_.fit(X.reshape(len(X), -1).astype("float32"), y, epochs=1, verbose=0)


def test_flat_rows_and_images_are_different_fits(tiny_images, tmp_path):
    """The same pixels as flat rows and as images of another shape build different networks."""
    X, y = tiny_images
    flat = tiny_plain(**SETTINGS, checkpoint_dir=tmp_path, input_shape=(1, 64, 1)).fit(
        X.reshape(len(X), -1), y)
    log = tmp_path / "images.log"
    images = tiny_plain(**SETTINGS, checkpoint_dir=tmp_path, callbacks=[EpochLog(log)]).fit(X, y)
    assert flat.input_shape_ == (1, 64, 1) and images.input_shape_ == (8, 8, 1)
    assert epochs_begun(log) == list(range(EPOCHS))  # trained, not the flat model reloaded


def test_checkpointing_with_a_validation_split_needs_a_seed(tiny_images, tmp_path):
    X, y = tiny_images
    with pytest.raises(ValueError, match="needs an int random_state"):
        tiny_plain(**SETTINGS, checkpoint_dir=tmp_path, random_state=None).fit(X, y)


def test_a_folder_in_use_by_another_fit_is_refused(tiny_images, tmp_path):
    fcntl = pytest.importorskip("fcntl")
    X, y = tiny_images
    tmp_path.joinpath(".lock").touch()
    with open(tmp_path / ".lock") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a fit running in another thread or process would
        with pytest.raises(ValueError, match="is in use by another fit"):
            tiny_plain(**SETTINGS, checkpoint_dir=tmp_path).fit(X, y)
    tiny_plain(**SETTINGS, checkpoint_dir=tmp_path).fit(X, y)  # free again
