"""A member's fit: inputs, labels, settings, callbacks, checkpoints, TensorBoard."""

import glob
import warnings

import keras
import numpy as np
import pytest
from sklearn.base import clone

from helpers import TINY_TRAINING, build_tiny_mlp, tiny_plain
from members import KerasMemberClassifier


@pytest.mark.parametrize("params", [{}, {"label_smoothing": 0.1}, {"class_weight": "balanced"}],
                         ids=["default", "label-smoothing", "class-weight"])
def test_a_fit_traces_its_train_step_once(tiny_images, monkeypatch, params):
    """A second trace (variables created inside the first) was most of a short fit's time."""
    X, y = tiny_images
    traces = []
    train_step = keras.Model.train_step

    def counted(self, data):
        traces.append(1)
        return train_step(self, data)

    monkeypatch.setattr(keras.Model, "train_step", counted)
    tiny_plain(epochs=2, **params).fit(X, y)
    assert len(traces) == 1


def test_flat_and_image_inputs_give_the_same_model(tiny_images):
    X, y = tiny_images
    from_images = tiny_plain().fit(X, y)
    from_rows = tiny_plain().fit(X.reshape(len(X), -1), y)
    assert from_images.input_shape_ == from_rows.input_shape_ == (8, 8, 1)
    assert from_images.n_features_in_ == from_rows.n_features_in_ == 64
    np.testing.assert_allclose(from_images.predict_proba(X), from_rows.predict_proba(X), atol=1e-6)
    # Either layout is accepted at predict time, whatever fit saw.
    np.testing.assert_array_equal(from_images.predict(X.reshape(len(X), -1)),
                                  from_images.predict(X))


def test_input_shape_parameter_reshapes_flat_rows(tiny_images):
    X, y = tiny_images
    clf = tiny_plain(input_shape=(4, 16, 1)).fit(X.reshape(len(X), -1), y)
    assert clf.input_shape_ == (4, 16, 1)
    with pytest.raises(ValueError, match="holds 65 values per sample, but X has 64"):
        tiny_plain(input_shape=(5, 13, 1)).fit(X.reshape(len(X), -1), y)


def test_raw_pixels_are_scaled_inside_the_model(tiny_images):
    X, y = tiny_images
    clf = tiny_plain().fit(X, y)
    assert clf.pixel_scale_ == pytest.approx(1 / 255)
    assert "pixel_scale" in [layer.name for layer in clf.model_.layers]
    # The saved model takes raw pixels: the same probabilities from model_ directly.
    direct = clf.model_(X.reshape(len(X), -1).astype("float32"), training=False)
    np.testing.assert_allclose(np.asarray(direct), clf.predict_proba(X), atol=1e-6)
    # Data already in [0, 1] is left alone.
    assert tiny_plain().fit(X / 255.0, y).pixel_scale_ == 1.0


def test_string_labels_round_trip(tiny_images):
    X, y = tiny_images
    names = np.array(["boot", "coat", "dress", "shirt"])[y]
    clf = tiny_plain(epochs=6).fit(X, names)
    np.testing.assert_array_equal(clf.classes_, ["boot", "coat", "dress", "shirt"])
    assert set(clf.predict(X)) <= set(clf.classes_)
    assert clf.score(X, names) > 0.5


def test_history_holds_per_epoch_lists(tiny_images):
    X, y = tiny_images
    clf = tiny_plain(epochs=3, validation_fraction=0.2, early_stopping_patience=None).fit(X, y)
    assert clf.history_["epoch"] == [0, 1, 2]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        assert len(clf.history_[key]) == 3, key


def test_reduce_lr_on_plateau_lowers_the_learning_rate(tiny_images):
    X, y = tiny_images
    # patience 0: every epoch without improvement halves the rate.
    clf = tiny_plain(epochs=6, reduce_lr_patience=0, reduce_lr_factor=0.5, learning_rate=0.5,
                     early_stopping_patience=None).fit(X, y)
    rates = clf.history_["learning_rate"]
    assert rates[-1] < 0.5
    assert all(later <= earlier for earlier, later in zip(rates, rates[1:], strict=False))


class EpochCounter(keras.callbacks.Callback):
    """A user callback with state, to show that fits work on copies."""

    def __init__(self):
        super().__init__()
        self.epochs_seen = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_seen += 1


def test_user_callbacks_run_on_copies_so_clones_share_nothing(tiny_images):
    X, y = tiny_images
    counter = EpochCounter()
    original = tiny_plain(epochs=2, callbacks=[counter])
    cloned = clone(original)
    assert cloned.callbacks[0] is not counter
    original.fit(X, y)
    cloned.fit(X, y)
    assert counter.epochs_seen == 0  # the user's object is never trained on
    assert cloned.callbacks[0].epochs_seen == 0


class RecordingCallback(keras.callbacks.Callback):
    """Writes the epochs it saw to a file: copies still run and report."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        with open(self.path, "a") as file:
            file.write(f"{epoch}\n")


def test_user_callbacks_are_called(tiny_images, tmp_path):
    X, y = tiny_images
    log = tmp_path / "epochs.txt"
    tiny_plain(epochs=2, callbacks=[RecordingCallback(str(log))]).fit(X, y)
    assert log.read_text().split() == ["0", "1"]


def test_class_weight_shifts_predictions_towards_the_heavy_class():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4))  # no signal: only the weights decide
    y = np.repeat(["a", "b", "c"], 100)
    settings = dict(TINY_TRAINING, epochs=5)
    plain = KerasMemberClassifier(build_tiny_mlp, **settings).fit(X, y)
    weighted = KerasMemberClassifier(
        build_tiny_mlp, class_weight={"a": 50.0, "b": 1.0, "c": 1.0}, **settings
    ).fit(X, y)
    share_plain = np.mean(plain.predict(X) == "a")
    share_weighted = np.mean(weighted.predict(X) == "a")
    assert share_weighted > 0.9
    assert share_weighted > share_plain + 0.3


def test_tensorboard_logs_hold_the_loss_scalar(tiny_images, tmp_path):
    import tensorflow as tf

    X, y = tiny_images
    tiny_plain(epochs=2, validation_fraction=0.2, tensorboard_dir=tmp_path / "tb",
               histogram_freq=1).fit(X, y)
    event_files = glob.glob(str(tmp_path / "tb" / "train" / "events.out.tfevents.*"))
    assert event_files
    tags = set()
    for event in tf.compat.v1.train.summary_iterator(event_files[0]):
        tags.update(value.tag for value in event.summary.value)
    assert "epoch_loss" in tags
    assert glob.glob(str(tmp_path / "tb" / "validation" / "events.out.tfevents.*"))


class CrashAtEpoch(keras.callbacks.Callback):
    """Simulates a crash after an epoch has been backed up."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("simulated crash")


def test_fit_resumes_from_checkpoint_dir_after_an_interruption(tiny_images, tmp_path):
    X, y = tiny_images
    settings = dict(epochs=5, validation_fraction=0.2, early_stopping_patience=None,
                    checkpoint_dir=tmp_path / "ckpt")
    with pytest.raises(RuntimeError, match="simulated crash"):
        tiny_plain(callbacks=[CrashAtEpoch(2)], **settings).fit(X, y)
    assert (tmp_path / "ckpt" / "best.keras").is_file()
    assert (tmp_path / "ckpt" / "backup").is_dir()

    resumed = tiny_plain(**settings).fit(X, y)
    # Epochs 0-2 come from the interrupted fit; only 3 and 4 were run now.
    assert resumed.history_["epoch"] == [0, 1, 2, 3, 4]
    assert not (tmp_path / "ckpt" / "backup").exists()  # removed once complete

    fresh = tiny_plain(**dict(settings, checkpoint_dir=tmp_path / "fresh")).fit(X, y)
    assert fresh.history_["epoch"] == [0, 1, 2, 3, 4]


def test_resume_refuses_a_different_configuration(tiny_images, tmp_path):
    X, y = tiny_images
    folder = tmp_path / "ckpt"
    with pytest.raises(RuntimeError):
        tiny_plain(epochs=4, checkpoint_dir=folder, callbacks=[CrashAtEpoch(1)]).fit(X, y)
    with pytest.raises(ValueError, match="interrupted fit of a different configuration"):
        tiny_plain(epochs=4, checkpoint_dir=folder, dropout=0.1).fit(X, y)


def test_best_only_checkpoint_holds_the_restored_weights(tiny_images, tmp_path):
    X, y = tiny_images
    clf = tiny_plain(epochs=4, validation_fraction=0.2, checkpoint_dir=tmp_path / "a",
                     precise_bn=False).fit(X, y)
    best = keras.saving.load_model(tmp_path / "a" / "best.keras", safe_mode=True)
    flat = X.reshape(len(X), -1).astype("float32")
    np.testing.assert_allclose(best.predict(flat, verbose=0), clf.predict_proba(X), atol=1e-6)
    # With recomputed batch-norm statistics (the default) the best epoch's trained
    # weights are restored all the same; only the moving statistics are new.
    precise = tiny_plain(epochs=4, validation_fraction=0.2, checkpoint_dir=tmp_path / "b").fit(X, y)
    best = keras.saving.load_model(tmp_path / "b" / "best.keras", safe_mode=True)
    for restored, saved in zip(precise.model_.trainable_weights, best.trainable_weights,
                               strict=True):
        np.testing.assert_array_equal(restored.numpy(), saved.numpy())


def test_a_failed_fit_leaves_the_fitted_estimator_intact(tiny_images):
    X, y = tiny_images
    clf = tiny_plain().fit(X, y)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError):
        clf.fit(X[:, :4], np.zeros(len(X[:, :4])))  # one class
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert clf.n_features_in_ == 64


@pytest.mark.parametrize("params, message", [
    ({"epochs": 0}, "epochs must be an int >= 1"),
    ({"batch_size": 2.5}, "batch_size must be an int"),
    ({"optimizer": "adamw"}, "optimizer must be one of"),
    ({"learning_rate": -1.0}, "learning_rate must be a number in"),
    ({"validation_fraction": 1.0}, "validation_fraction must be a number in"),
    ({"reduce_lr_factor": 1.5}, "reduce_lr_factor must be a number in"),
    ({"early_stopping_patience": -1}, "early_stopping_patience must be an int"),
    ({"pixel_scale": "max"}, "pixel_scale must be"),
    ({"input_shape": (0, 8)}, "input_shape must be a tuple of positive ints"),
])
def test_bad_settings_raise_before_training(tiny_images, params, message):
    X, y = tiny_images
    with pytest.raises(ValueError, match=message):
        tiny_plain(**params).fit(X, y)


@pytest.mark.parametrize("params, error, message", [
    ({"callbacks": ["early_stopping"]}, TypeError, "keras.callbacks.Callback"),
    ({"build_params": [1]}, TypeError, "build_params must be a dict"),
])
def test_bad_types_raise_type_errors(tiny_images, params, error, message):
    X, y = tiny_images
    with pytest.raises(error, match=message):
        KerasMemberClassifier(build_tiny_mlp, **dict(TINY_TRAINING, **params)).fit(X, y)


def test_build_fn_must_return_a_model(tiny_images):
    X, y = tiny_images

    def not_a_model(input_shape, n_classes):
        return "model"

    with pytest.raises(TypeError, match="build_fn must return a keras.Model"):
        KerasMemberClassifier(not_a_model, **TINY_TRAINING).fit(X, y)


def test_checkpoint_dir_that_is_a_file_is_refused(tiny_images, tmp_path):
    X, y = tiny_images
    path = tmp_path / "file"
    path.write_text("precious")
    with pytest.raises(ValueError, match="is not a directory"):
        tiny_plain(checkpoint_dir=path).fit(X, y)
    assert path.read_text() == "precious"


def test_fitting_does_not_change_global_random_state(tiny_images):
    X, y = tiny_images
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    tiny_plain(epochs=1).fit(X, y)
    assert np.random.rand() == expected


def test_images_predict_as_they_were_fitted_even_with_an_input_shape(tiny_images):
    """input_shape may differ from the images' shape: those images still predict."""
    X, y = tiny_images
    member = KerasMemberClassifier(build_tiny_mlp, input_shape=(64,), **TINY_TRAINING).fit(X, y)
    assert member.predict_proba(X).shape == (len(X), 4)
    with pytest.raises(ValueError, match=r"images of shape \(4, 16, 1\)"):
        member.predict(X.reshape(len(X), 4, 16, 1))
    # Fitted on flat rows, the layout of images at prediction is the user's business.
    flat = KerasMemberClassifier(build_tiny_mlp, **TINY_TRAINING).fit(X.reshape(len(X), -1), y)
    assert flat.predict(X).shape == (len(X),)


def test_an_ensemble_of_members_with_an_input_shape_fits_images(tiny_images):
    from ensemble import WeightedAverageEnsemble

    X, y = tiny_images
    members = [("mlp", KerasMemberClassifier(build_tiny_mlp, input_shape=(64,), **TINY_TRAINING)),
               ("cnn", tiny_plain(input_shape=(8, 8, 1)))]
    learned = WeightedAverageEnsemble(members, holdout=0.3, random_state=0).fit(X[..., 0], y)
    assert learned.predict(X[..., 0]).shape == (len(X),)


def test_building_the_training_state_first_changes_no_result(tiny_images, monkeypatch):
    from members import _training

    X, y = tiny_images
    built_first = tiny_plain(epochs=2, random_state=3).fit(X, y).predict_proba(X)
    monkeypatch.setattr(_training, "build_training_state", lambda model, X, y: None)
    built_in_the_step = tiny_plain(epochs=2, random_state=3).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(built_first, built_in_the_step)


def test_eager_steps_skip_the_symbolic_build_and_train_the_same(tiny_images, monkeypatch):
    """Running eagerly nothing is traced, so the build that saves a second trace is skipped."""
    import tensorflow as tf

    X, y = tiny_images
    built = []
    build = keras.Model._symbolic_build
    monkeypatch.setattr(keras.Model, "_symbolic_build",
                        lambda self, **kwargs: built.append(1) or build(self, **kwargs))
    compiled = tiny_plain(epochs=2, random_state=3).fit(X, y).predict_proba(X)
    assert built
    built.clear()
    tf.config.run_functions_eagerly(True)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*run_functions_eagerly.*")
            eager = tiny_plain(epochs=2, random_state=3).fit(X, y).predict_proba(X)
    finally:
        tf.config.run_functions_eagerly(False)
    assert not built
    np.testing.assert_allclose(eager, compiled, atol=1e-5)
