"""Members fit the images they get, 8x8 to 96x96, grey or colour; too small ones are refused."""

import keras
import numpy as np
import pytest

from helpers import TINY_TRAINING
from members import (
    KerasMemberClassifier,
    PlainCNNClassifier,
    ResidualNetClassifier,
    SeparableCNNClassifier,
    check_image_size,
)

#: Each built-in member at its default depth (as many stages as by default), with few filters.
DEFAULT_DEPTH = {
    "plain": lambda **kw: PlainCNNClassifier(filters=(4, 8), dense_units=8, **kw),
    "separable": lambda **kw: SeparableCNNClassifier(stem_filters=4, filters=(4, 8), **kw),
    "residual": lambda **kw: ResidualNetClassifier(stem_filters=4, filters=(4, 4, 8), **kw),
}


def images(n, side, channels, seed=0):
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 3
    X = rng.randint(0, 120, size=(n, side, side, channels))
    X[y == 1, : side // 2] += 120  # something to learn: bright top half
    return X.astype("uint8"), y


@pytest.mark.parametrize("name", sorted(DEFAULT_DEPTH))
@pytest.mark.parametrize("side, channels", [(8, 1), (96, 3)], ids=["8x8-grey", "96x96-rgb"])
def test_every_member_fits_and_predicts_small_grey_and_large_colour_images(name, side, channels):
    X, y = images(24, side, channels)
    member = DEFAULT_DEPTH[name](**dict(TINY_TRAINING, epochs=1)).fit(X, y)
    assert member.input_shape_ == (side, side, channels)
    proba = member.predict_proba(X[:5])
    assert proba.shape == (5, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize("member, side, message", [
    (PlainCNNClassifier(), 2, r"PlainCNNClassifier can't use 2x2 images: it downsamples them 3 "
                              r"times.* at least 5x5 pixels .*--image-size.*\(stem_strides=1, "
                              r"or .*filters=\(64,\)"),
    (SeparableCNNClassifier(), 2, r"SeparableCNNClassifier can't use 2x2 images.* at least 3x3"),
    (ResidualNetClassifier(), 4, r"ResidualNetClassifier can't use 4x4 images: it downsamples "
                                 r"them 3 times, and at step 3 \(layer 'stage3_block1_1_conv'\).* "
                                 r"at least 5x5 pixels.* filters=\(32, 64\)"),
    (PlainCNNClassifier(filters=(8, 8, 8, 8)), 7, r"at least 17x17 pixels"),
], ids=["plain-2x2", "separable-2x2", "residual-4x4", "deep-plain-7x7"])
def test_images_too_small_for_a_member_are_refused_saying_what_to_change(member, side, message):
    with pytest.raises(ValueError, match=message):
        check_image_size(member, (side, side, 1))


@pytest.mark.parametrize("member, side", [
    (PlainCNNClassifier(), 5), (SeparableCNNClassifier(), 3), (ResidualNetClassifier(), 5),
    (ResidualNetClassifier(), 8), (PlainCNNClassifier(), 1),
])
def test_the_smallest_images_a_member_takes_pass(member, side):
    check_image_size(member, (side, side, 3))


def test_fit_refuses_small_images_but_reads_guessed_flat_rows_as_it_can():
    X, y = images(12, 4, 1)
    member = ResidualNetClassifier(**dict(TINY_TRAINING, epochs=1))
    with pytest.raises(ValueError, match="can't use 4x4 images"):
        member.fit(X, y)
    with pytest.raises(ValueError, match="can't use 4x4 images"):
        member.set_params(input_shape=(4, 4, 1)).fit(X.reshape(12, -1), y)
    # Flat rows without input_shape are features the member only guesses a shape for
    # (scikit-learn's checks pass 2 to 10 of them): it adapts instead.
    member.set_params(input_shape=None).fit(X.reshape(12, -1), y)
    assert member.input_shape_ == (4, 4, 1)


class PoolingBuilder:
    """A user's network that pools twice, with ``same`` or ``valid`` padding."""

    def __init__(self, padding):
        self.padding = padding

    def __call__(self, input_shape, n_classes):
        inputs = keras.Input(input_shape)
        x = keras.layers.MaxPooling2D(2, padding=self.padding)(inputs)
        x = keras.layers.MaxPooling2D(2, padding=self.padding)(x)
        x = keras.layers.Flatten()(x)
        return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))


def test_a_users_own_network_is_checked_the_same_way():
    member = KerasMemberClassifier(PoolingBuilder("same"))
    check_image_size(member, (4, 4, 1))
    with pytest.raises(ValueError, match=r"KerasMemberClassifier can't use 2x2 images.*"
                                         r"a build_fn with fewer pooling or strided layers"):
        check_image_size(member, (2, 2, 1))
    # Keras itself refuses valid pooling of a one-pixel map: said on one line, with the fix.
    member = KerasMemberClassifier(PoolingBuilder("valid"))
    with pytest.raises(ValueError, match=r"^KerasMemberClassifier's network can't be built for "
                                         r"3x3x1 images \(Computed output size would be zero or "
                                         r"negative[^\n\x1b]*\): too small for its layers\? "
                                         r"Resize them") as info:
        check_image_size(member, (3, 3, 1))
    assert "\n" not in str(info.value)
