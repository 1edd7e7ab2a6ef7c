"""Pure Keras builders of the three member architectures.

Each builder is ``(input_shape, n_classes, *, hyper-parameters) ->
keras.Model``: a stem, a stack of blocks from :mod:`members.blocks`, a head.
No compilation and no training here; the wrappers in :mod:`members` do that.
Inputs are expected in [0, 1]: the wrapper puts pixel scaling in front.

Where the CPU time goes decides the shapes. Every builder starts with a
stride-2 stem (``stem_strides=2``), which computes a quarter of the
positions, and puts its capacity at half and quarter resolution: each
stage then does a quarter of the work it would do at full resolution.
Measured on 2 cores (BENCHMARKS.md, "Accuracy per CPU minute"), the plain
CNN on 54,000 Fashion-MNIST images: 37 s per epoch with the stride-2 stem
against 140 s with ``stem_strides=1`` (4x the multiply-adds at about the
same 69 GFLOP/s), which in 16 epochs reaches 0.941 test accuracy against
0.931; at equal CPU time (8 epochs) the two are level. ``stem_strides=1``
is the choice when accuracy matters more than CPU time.
"""

import keras
from keras import layers

from members.blocks import (
    conv_bn_relu,
    downsample,
    image_input,
    residual_block,
    separable_bn_relu,
    softmax_head,
)


def _input_and_stem(builder, input_shape, stem_filters, stem_strides, *, stem_optional=False):
    """Check the arguments every builder shares; the image input and the stem's output.

    The stem is one 3x3 convolution; stride 2 halves the resolution before
    anything else runs. With ``stem_optional``, ``stem_filters=0`` means no
    stem: the input itself.
    """
    if len(input_shape) != 3:
        raise ValueError(
            f"{builder} needs images of shape (height, width, channels), got input_shape="
            f"{tuple(input_shape)}."
        )
    if stem_strides not in (1, 2):
        raise ValueError(f"{builder}: stem_strides must be 1 or 2, got {stem_strides!r}.")
    inputs = image_input(input_shape)
    if stem_optional and not stem_filters:
        return inputs, inputs
    return inputs, conv_bn_relu(inputs, stem_filters, strides=stem_strides, name="stem")


def build_plain_cnn(input_shape, n_classes, *, stem_filters=32, stem_strides=2,
                    filters=(64, 128), convs_per_stage=1, dense_units=128, dropout=0.3):
    """A plain CNN: a stem, then stages of conv + batch norm + ReLU, each followed by 2x2 pooling.

    Parameters
    ----------
    input_shape : tuple of int
        ``(height, width, channels)``.
    n_classes : int
    stem_filters : int, default=32
        Filters of the stem convolution; 0 for no stem.
    stem_strides : {1, 2}, default=2
        2 halves the resolution in the stem.
    filters : tuple of int, default=(64, 128)
        Filters of each stage; one stage per entry.
    convs_per_stage : int, default=1
    dense_units : int, default=128
        Width of the hidden dense layer of the head; 0 for none.
    dropout : float, default=0.3
        Dropout rate before the softmax.

    Returns
    -------
    keras.Model
        Maps ``(batch, *input_shape)`` to class probabilities ``(batch, n_classes)``.
    """
    inputs, x = _input_and_stem("build_plain_cnn", input_shape, stem_filters, stem_strides,
                                stem_optional=True)
    for stage, stage_filters in enumerate(filters, start=1):
        for conv in range(1, convs_per_stage + 1):
            x = conv_bn_relu(x, stage_filters, name=f"stage{stage}_{conv}")
        x = downsample(x, name=f"stage{stage}")
    x = layers.Flatten(name="flatten")(x)
    outputs = softmax_head(x, n_classes, dropout=dropout, dense_units=dense_units)
    return keras.Model(inputs, outputs, name="plain_cnn")


def build_separable_cnn(input_shape, n_classes, *, stem_filters=32, stem_strides=2,
                        filters=(64, 128), convs_per_stage=2, dropout=0.2):
    """A depthwise separable CNN with a global-average-pooling head.

    A full 3x3 convolution stem, then the separable stages at reduced
    resolution: depthwise convolutions are slow per multiply-add on CPUs, so
    they run at 1/4 and 1/16 of the pixels.

    Parameters
    ----------
    input_shape : tuple of int
    n_classes : int
    stem_filters : int, default=32
    stem_strides : {1, 2}, default=2
        2: the stem halves the resolution; 1: the stem keeps it and the
        first stage starts with 2x2 pooling instead.
    filters : tuple of int, default=(64, 128)
        Filters of each separable stage; each stage after the first starts
        with 2x2 pooling.
    convs_per_stage : int, default=2
    dropout : float, default=0.2

    Returns
    -------
    keras.Model
    """
    inputs, x = _input_and_stem("build_separable_cnn", input_shape, stem_filters, stem_strides)
    for stage, stage_filters in enumerate(filters, start=1):
        if stage > 1 or stem_strides == 1:
            x = downsample(x, name=f"stage{stage}")
        for conv in range(1, convs_per_stage + 1):
            x = separable_bn_relu(x, stage_filters, name=f"stage{stage}_{conv}")
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    outputs = softmax_head(x, n_classes, dropout=dropout)
    return keras.Model(inputs, outputs, name="separable_cnn")


def build_residual_net(input_shape, n_classes, *, stem_filters=32, stem_strides=2,
                       filters=(32, 64, 128), blocks_per_stage=1, dropout=0.2):
    """A small ResNet: stem, stages of residual blocks, global pooling head.

    The stem halves the resolution before the first stage (a stride-2
    convolution, or with ``stem_strides=1`` a convolution and 2x2 pooling),
    and every later stage halves it again with a strided block: a stage kept
    at full 28x28 resolution costs about 5x a plain CNN per epoch on CPU.

    Parameters
    ----------
    input_shape : tuple of int
    n_classes : int
    stem_filters : int, default=32
    stem_strides : {1, 2}, default=2
        2: a stride-2 stem convolution; 1: a stride-1 one followed by 2x2
        max pooling (the stem convolution then runs at full resolution: 4x its compute).
    filters : tuple of int, default=(32, 64, 128)
        Filters of each stage. Stage 1 keeps the stem's resolution; each
        later stage starts with a stride-2 block and a projection shortcut.
    blocks_per_stage : int, default=1
    dropout : float, default=0.2

    Returns
    -------
    keras.Model
    """
    inputs, x = _input_and_stem("build_residual_net", input_shape, stem_filters, stem_strides)
    if stem_strides == 1:
        x = downsample(x, name="stem")
    for stage, stage_filters in enumerate(filters, start=1):
        for block in range(1, blocks_per_stage + 1):
            strides = 2 if stage > 1 and block == 1 else 1
            x = residual_block(x, stage_filters, strides=strides, name=f"stage{stage}_block{block}")
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    outputs = softmax_head(x, n_classes, dropout=dropout)
    return keras.Model(inputs, outputs, name="residual_net")
