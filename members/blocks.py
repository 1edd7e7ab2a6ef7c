"""Small named network blocks: each takes a tensor and returns a tensor.

The builders in :mod:`members.builders` compose these. Every layer is named
after its block (``f"{name}_conv"``) so that a model summary reads like the
architecture it implements.
"""

import keras
from keras import layers

#: Batch-norm settings shared by every block. Momentum 0.9, not Keras's 0.99:
#: the moving statistics used at inference then settle within tens of steps
#: rather than hundreds, so that a member trained for a few epochs on a few
#: thousand images (the bundled sample, a CV fold) predicts as well as it
#: trained. With 0.99, early stopping on the bundled sample restored
#: near-chance weights.
_BN_EPSILON = 1e-3
_BN_MOMENTUM = 0.9


def conv_bn_relu(x, filters, *, kernel_size=3, strides=1, name):
    """Convolution, batch normalisation, ReLU.

    The convolution has no bias: the batch normalisation that follows would
    cancel it.

    Parameters
    ----------
    x : KerasTensor of shape (batch, H, W, C)
    filters : int
    kernel_size : int, default=3
    strides : int, default=1
    name : str
        Prefix of the layer names.

    Returns
    -------
    KerasTensor of shape (batch, ceil(H / strides), ceil(W / strides), filters)
    """
    x = layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = layers.BatchNormalization(epsilon=_BN_EPSILON, momentum=_BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def separable_bn_relu(x, filters, *, name):
    """Depthwise separable 3x3 convolution, batch normalisation, ReLU.

    A depthwise 3x3 filter per channel followed by a 1x1 pointwise mix costs
    about ``1/filters + 1/9`` of a full convolution's multiply-adds.

    Parameters
    ----------
    x : KerasTensor of shape (batch, H, W, C)
    filters : int
    name : str

    Returns
    -------
    KerasTensor of shape (batch, H, W, filters)
    """
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False,
                               name=f"{name}_sepconv")(x)
    x = layers.BatchNormalization(epsilon=_BN_EPSILON, momentum=_BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def downsample(x, *, name):
    """2x2 max pooling; ``same`` padding so odd and one-pixel sizes still work."""
    return layers.MaxPooling2D(2, padding="same", name=f"{name}_pool")(x)


def residual_block(x, filters, *, strides=1, name):
    """Two 3x3 convolutions with batch norm, the block's input added back.

    The shortcut is the identity when shape is unchanged, else a strided 1x1
    projection with batch norm (He et al. 2016, option B).

    Parameters
    ----------
    x : KerasTensor of shape (batch, H, W, C)
    filters : int
    strides : int, default=1
        2 halves the resolution at the first convolution and the shortcut.
    name : str

    Returns
    -------
    KerasTensor of shape (batch, ceil(H / strides), ceil(W / strides), filters)
    """
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        if strides != 1:
            # A strided 1x1 convolution is the 1x1 convolution of every strides-th pixel,
            # written so because TensorFlow 2.21's oneDNN gradient of the strided one
            # corrupts memory (a segfault) on AVX-512 CPUs for maps of 48x48 and larger
            # (reproduced on AMD EPYC, e.g. 96x96 colour images); the same numbers.
            shortcut = layers.MaxPooling2D(pool_size=1, strides=strides,
                                           name=f"{name}_proj_subsample")(shortcut)
        shortcut = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_proj_conv")(shortcut)
        shortcut = layers.BatchNormalization(
            epsilon=_BN_EPSILON, momentum=_BN_MOMENTUM, name=f"{name}_proj_bn"
        )(shortcut)
    y = conv_bn_relu(x, filters, strides=strides, name=f"{name}_1")
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    y = layers.BatchNormalization(epsilon=_BN_EPSILON, momentum=_BN_MOMENTUM,
                                  name=f"{name}_2_bn")(y)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.Activation("relu", name=f"{name}_out")(y)


def softmax_head(x, n_classes, *, dropout=0.0, dense_units=None, name="head"):
    """Classifier head: optional dense layer, dropout, softmax.

    The softmax runs in float32 even under a mixed-precision policy, so that
    probabilities sum to one as closely as float32 allows.

    Parameters
    ----------
    x : KerasTensor of shape (batch, features)
    n_classes : int
    dropout : float, default=0.0
    dense_units : int or None, default=None
    name : str, default="head"

    Returns
    -------
    KerasTensor of shape (batch, n_classes)
    """
    if dense_units:
        x = layers.Dense(dense_units, use_bias=False, name=f"{name}_dense")(x)
        x = layers.BatchNormalization(epsilon=_BN_EPSILON, momentum=_BN_MOMENTUM,
                                      name=f"{name}_bn")(x)
        x = layers.Activation("relu", name=f"{name}_relu")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return layers.Dense(n_classes, activation="softmax", dtype="float32", name=f"{name}_softmax")(x)


def image_input(input_shape, name="image"):
    """A Keras input for one image of ``input_shape`` (H, W, C)."""
    return keras.Input(shape=tuple(input_shape), name=name)
