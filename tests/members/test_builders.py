"""The builders are pure Keras: shapes and layer kinds, checked without training."""

import keras
import pytest

from members import builders


def _layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


@pytest.mark.parametrize("build", [
    builders.build_plain_cnn, builders.build_separable_cnn, builders.build_residual_net,
])
@pytest.mark.parametrize("input_shape", [(28, 28, 1), (32, 32, 3), (1, 5, 1)])
def test_builders_map_images_to_class_probabilities(build, input_shape):
    model = build(input_shape, 7)
    assert model.input_shape == (None, *input_shape)
    assert model.output_shape == (None, 7)
    assert model.layers[-1].activation is keras.activations.softmax


def test_plain_cnn_has_batch_norm_after_every_conv_and_a_dropout_head():
    model = builders.build_plain_cnn((28, 28, 1), 10, filters=(8, 16), convs_per_stage=2)
    types = _layer_types(model)
    assert types.count("Conv2D") == 1 + 4  # the stem and two per stage
    assert types.count("BatchNormalization") >= 5
    assert types.count("MaxPooling2D") == 2
    assert "Dropout" in types and "Dense" in types


def test_separable_cnn_uses_separable_convs_and_global_pooling():
    model = builders.build_separable_cnn((28, 28, 1), 10, filters=(8, 16), convs_per_stage=2)
    types = _layer_types(model)
    assert types.count("SeparableConv2D") == 4
    assert types.count("BatchNormalization") >= 5
    assert "GlobalAveragePooling2D" in types
    assert "Flatten" not in types


def test_residual_net_adds_a_shortcut_in_every_block():
    model = builders.build_residual_net(
        (28, 28, 1), 10, stem_filters=8, filters=(8, 16, 32), blocks_per_stage=2
    )
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    assert len(adds) == 3 * 2
    assert {layer.name for layer in adds} == {
        f"stage{stage}_block{block}_add" for stage in (1, 2, 3) for block in (1, 2)
    }
    # Stages after the first change width and resolution: projection shortcuts.
    projections = [layer.name for layer in model.layers if layer.name.endswith("_proj_conv")]
    assert projections == ["stage2_block1_proj_conv", "stage3_block1_proj_conv"]
    assert "GlobalAveragePooling2D" in _layer_types(model)


@pytest.mark.parametrize("stem_strides", [1, 2])
def test_residual_net_downsamples_before_its_blocks(stem_strides):
    # 28x28 -> stem 14 (stride 2, or pooling) -> stage 2: 7 -> stage 3: 4.
    model = builders.build_residual_net((28, 28, 1), 10, stem_strides=stem_strides)
    assert model.get_layer("stage1_block1_add").output.shape[1:3] == (14, 14)
    assert model.get_layer("stage3_block1_add").output.shape[1:3] == (4, 4)


@pytest.mark.parametrize("build", [
    builders.build_plain_cnn, builders.build_separable_cnn, builders.build_residual_net,
])
def test_a_stride_two_stem_halves_the_resolution_before_anything_else(build):
    model = build((28, 28, 1), 10)
    stem = model.get_layer("stem_conv")
    assert stem.strides == (2, 2) and stem.output.shape[1:3] == (14, 14)
    full = build((28, 28, 1), 10, stem_strides=1)
    assert full.get_layer("stem_conv").output.shape[1:3] == (28, 28)
    with pytest.raises(ValueError, match="stem_strides must be 1 or 2, got 3"):
        build((28, 28, 1), 10, stem_strides=3)


@pytest.mark.parametrize("build", [
    builders.build_plain_cnn, builders.build_separable_cnn, builders.build_residual_net,
])
def test_builders_refuse_flat_input_shapes(build):
    with pytest.raises(ValueError, match="height, width, channels"):
        build((784,), 10)


def test_the_residual_projection_is_a_strided_1x1_convolution():
    """Written as subsampling then a 1x1 convolution (a oneDNN crash on AVX-512): same numbers."""
    import numpy as np

    from members.blocks import residual_block

    inputs = keras.Input((48, 48, 4))
    model = keras.Model(inputs, residual_block(inputs, 8, strides=2, name="b"))
    projection = keras.Model(inputs, model.get_layer("b_proj_conv").output)
    strided = keras.layers.Conv2D(8, 1, strides=2, use_bias=False)
    reference = keras.Model(inputs, strided(inputs))
    strided.set_weights(model.get_layer("b_proj_conv").get_weights())
    X = np.random.default_rng(0).normal(size=(2, 48, 48, 4)).astype("float32")
    np.testing.assert_allclose(projection.predict(X, verbose=0), reference.predict(X, verbose=0),
                               atol=1e-6)
