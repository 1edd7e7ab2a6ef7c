"""Training-time augmentation layers and test-time augmentation (members._augment, utils.tta)."""

import keras
import numpy as np
import pytest

from helpers import TINY_TRAINING, build_tiny_mlp, tiny_plain
from members import KerasMemberClassifier
from members.utils.files import keras_model_from_bytes, keras_model_to_bytes
from members.utils.prediction import COMPILED_PREDICT_MIN_ROWS, predict_in_batches
from members.utils.tta import resolve_tta, transform_batch


def augmented(**params):
    return tiny_plain(random_shift=0.25, horizontal_flip=True, **params)


def test_augmentation_layers_sit_in_the_model_and_act_only_in_training(tiny_images):
    X, y = tiny_images
    clf = augmented(tta="none").fit(X, y)
    names = [layer.name for layer in clf.model_.layers]
    assert names.index("pixel_scale") < names.index("augment_shift") < names.index("augment_flip")
    first, second = clf.predict_proba(X), clf.predict_proba(X)
    np.testing.assert_array_equal(first, second)
    flat = X.reshape(len(X), -1).astype("float32")
    saved = keras_model_from_bytes(keras_model_to_bytes(clf.model_))
    np.testing.assert_allclose(saved.predict(flat, verbose=0), first, atol=1e-6)
    # In training mode the same layers do change the inputs (a copy: training-mode
    # calls also move batch norm's statistics).
    trained = [np.asarray(saved(flat, training=True)) for _ in range(2)]
    assert not np.allclose(trained[0], trained[1])


def test_a_model_with_augmentation_layers_loads_in_safe_mode(tiny_images, tmp_path):
    X, y = tiny_images
    own = [keras.layers.RandomContrast(0.2, seed=3)]
    clf = augmented(augmentation=own, tta="none").fit(X, y)
    path = tmp_path / "member.keras"
    clf.model_.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert {"augment_shift", "augment_flip"} <= {layer.name for layer in loaded.layers}
    assert any(isinstance(layer, keras.layers.RandomContrast) for layer in loaded.layers)
    flat = X.reshape(len(X), -1).astype("float32")
    np.testing.assert_allclose(loaded.predict(flat, verbose=0), clf.predict_proba(X), atol=1e-6)
    # The user's layer object itself never trains: every fit works on a copy.
    assert not own[0].built


def test_fit_leaves_the_users_augmentation_layers_untouched(tiny_images):
    """What sklearn's check_estimators_overwrite_params means, asserted directly.

    That check compares joblib hashes, and a Keras layer pickles as a saved
    model stamped with the current second, so it fails on slow fits without
    any mutation (tests/test_common.py declares it for that reason).
    """
    X, y = tiny_images
    own = keras.layers.RandomContrast(0.2, seed=3)
    config = own.get_config()
    clf = augmented(augmentation=[own], tta="none")
    clf.fit(X, y)
    assert clf.get_params()["augmentation"][0] is own
    assert own.get_config() == config
    assert not own.built and not own.weights
    assert all(layer is not own for layer in clf.model_.layers)


def test_augmentation_changes_what_the_network_learns(tiny_images):
    X, y = tiny_images
    plain = tiny_plain(random_shift=0.0).fit(X, y)
    shifted = tiny_plain(random_shift=0.25).fit(X, y)
    assert plain.history_["loss"] != shifted.history_["loss"]


def test_tta_on_a_mirror_symmetric_input_equals_plain_prediction(tiny_images):
    X, y = tiny_images
    clf = augmented(tta="none").fit(X, y)
    symmetric = ((X.astype("float32") + X[:, :, ::-1].astype("float32")) / 2).round()
    plain = clf.predict_proba(symmetric)
    mirrored = clf.set_params(tta="flip").predict_proba(symmetric)
    np.testing.assert_allclose(mirrored, plain, atol=1e-6)


def test_flip_tta_averages_the_image_and_its_mirror(tiny_images):
    X, y = tiny_images
    clf = augmented(tta="none").fit(X, y)
    plain, mirror = clf.predict_proba(X), clf.predict_proba(X[:, :, ::-1])
    assert not np.allclose(plain, mirror)
    np.testing.assert_allclose(clf.set_params(tta="flip").predict_proba(X), (plain + mirror) / 2,
                               atol=1e-6)
    # "auto" mirrors because the member trained with flips.
    np.testing.assert_allclose(clf.set_params(tta="auto").predict_proba(X), (plain + mirror) / 2,
                               atol=1e-6)


def test_auto_tta_does_nothing_without_flips_in_training(tiny_images):
    X, y = tiny_images
    clf = tiny_plain(horizontal_flip=False).fit(X, y)
    assert resolve_tta("auto", False, clf.input_shape_) == ("identity",)
    np.testing.assert_array_equal(clf.predict_proba(X), clf.set_params(tta=None).predict_proba(X))


def test_shift_tta_averages_four_one_pixel_shifts_and_the_image(tiny_images):
    X, y = tiny_images
    clf = tiny_plain().fit(X, y)
    names = resolve_tta("shift", False, clf.input_shape_)
    assert names == ("identity", "shift_up", "shift_down", "shift_left", "shift_right")
    clf.set_params(tta="none")
    expected = np.mean([clf.predict_proba(transform_batch(X, name)) for name in names], axis=0)
    np.testing.assert_allclose(clf.set_params(tta="shift").predict_proba(X), expected, atol=1e-6)


def test_shift_transforms_move_one_pixel_and_fill_with_zeros():
    image = np.arange(1, 10, dtype="float32").reshape(1, 3, 3, 1)
    down = transform_batch(image, "shift_down")[0, :, :, 0]
    np.testing.assert_array_equal(down, [[0, 0, 0], [1, 2, 3], [4, 5, 6]])
    left = transform_batch(image, "shift_left")[0, :, :, 0]
    np.testing.assert_array_equal(left, [[2, 3, 0], [5, 6, 0], [8, 9, 0]])
    np.testing.assert_array_equal(transform_batch(image, "flip")[0, 0, :, 0], [3, 2, 1])


def test_flat_feature_vectors_get_no_image_augmentation(tiny_images):
    X, y = tiny_images
    flat = X.reshape(len(X), -1)
    clf = KerasMemberClassifier(build_tiny_mlp, random_shift=0.2, horizontal_flip=True,
                                **TINY_TRAINING).fit(flat, y)
    assert clf.input_shape_ == (64,)
    assert not any(layer.name.startswith("augment") for layer in clf.model_.layers)
    np.testing.assert_array_equal(clf.predict_proba(flat),
                                  clf.set_params(tta="none").predict_proba(flat))
    with pytest.raises(ValueError, match=r"tta='flip' needs images .* inputs of shape \(64,\)"):
        clf.set_params(tta="flip").predict_proba(flat)


def test_compiled_prediction_of_large_inputs_equals_eager_prediction(tiny_images):
    X, y = tiny_images
    clf = augmented(tta="none").fit(X, y)
    rows = np.tile(X.reshape(len(X), -1), (COMPILED_PREDICT_MIN_ROWS // len(X) + 1, 1))
    compiled = predict_in_batches(clf.model_, rows, batch_size=96)  # a ragged last batch
    eager = predict_in_batches(clf.model_, rows[:len(X)])
    np.testing.assert_allclose(compiled[:len(X)], eager, atol=1e-5)
    np.testing.assert_allclose(compiled[-len(X):], compiled[:len(X)], atol=1e-6)


def test_augment_gives_copies_as_fit_would_transform_them(tiny_images):
    from helpers import tiny_plain

    X, _ = tiny_images
    member = tiny_plain(random_shift=0.25, horizontal_flip=True)
    copies = member.augment(X[:10], n_copies=3, random_state=0)
    assert copies.shape == (30, 8, 8, 1) and copies.dtype == X.dtype
    np.testing.assert_array_equal(copies, member.augment(X[:10], 3, random_state=0))
    assert not np.array_equal(copies[:10], X[:10])
    # Shifts move whole pixels and fill with zeros: every value is a pixel of X or 0.
    assert set(np.unique(copies)) <= set(np.unique(X[:10])) | {0}
    still = tiny_plain(random_shift=0.0).augment(X[:10], 2)  # no augmentation: copies of X
    np.testing.assert_array_equal(still, np.concatenate([X[:10], X[:10]]))
    with pytest.raises(ValueError, match="augment needs images"):
        tiny_plain().augment(X.reshape(len(X), -1))
