"""The member classes: a generic one for your own builder, and three architectures.

Each class only names a builder and its hyper-parameters; the training
parameters are listed in every ``__init__`` signature because scikit-learn
reads an estimator's parameters from it (and each architecture has its own
tuned defaults for them). :func:`members.utils.params.set_init_params` stores
them, and :func:`members.utils.docs.with_training_docs` documents them, once.
"""

from members import builders
from members._wrapper import MemberClassifierBase
from members.utils.docs import with_training_docs
from members.utils.inputs import square_image_shape
from members.utils.params import set_init_params

#: Training defaults of the three built-in architectures, chosen by the
#: measurements in BENCHMARKS.md ("Accuracy per CPU minute"): shifts of up
#: to 2 pixels of a 28x28 image, AdamW at a cosine schedule peaking at 3e-3,
#: and as many epochs as fit about 10 minutes of 2 CPU cores on 54,000
#: Fashion-MNIST images.
RANDOM_SHIFT = 2 / 28
WEIGHT_DECAY = 0.05
LEARNING_RATE = 3e-3
EARLY_STOPPING_PATIENCE = 5
PLAIN_EPOCHS = 16
SEPARABLE_EPOCHS = 12
RESIDUAL_EPOCHS = 8


@with_training_docs
class KerasMemberClassifier(MemberClassifierBase):
    """Your own Keras network, from a build function, as a scikit-learn classifier.

    Parameters
    ----------
    build_fn : callable
        ``build_fn(input_shape, n_classes, **build_params) -> keras.Model``
        returning an uncompiled model that maps ``(batch, *input_shape)`` to
        class probabilities ``(batch, n_classes)`` (softmax output). The
        wrapper compiles it (sparse categorical cross-entropy).
    build_params : dict or None, default=None
        Keyword arguments for ``build_fn``; ``set_params(build_params=...)``
        replaces the whole dict.

    See Also
    --------
    PlainCNNClassifier, SeparableCNNClassifier, ResidualNetClassifier : The built-in architectures.
    ensemble.WeightedAverageEnsemble : Blends members.


    Examples
    --------
    >>> import keras
    >>> from members import KerasMemberClassifier
    >>> def build_mlp(input_shape, n_classes, *, units=32):
    ...     inputs = keras.Input(input_shape)
    ...     hidden = keras.layers.Dense(units, activation="relu")(inputs)
    ...     outputs = keras.layers.Dense(n_classes, activation="softmax")(hidden)
    ...     return keras.Model(inputs, outputs)
    >>> clf = KerasMemberClassifier(build_mlp, build_params={"units": 16}, epochs=1,
    ...                             random_state=0)
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 5))  # flat features: the network sees vectors of 5
    >>> y = np.arange(40) % 2
    >>> clf.fit(X, y).predict_proba(X[:3]).shape
    (3, 2)
    >>> clf.classes_, clf.input_shape_
    (array([0, 1]), (5,))
    """

    def __init__(
        self, build_fn, *, build_params=None, input_shape=None, pixel_scale=None,
        random_shift=0.0, horizontal_flip=False, augmentation=None, tta="auto", epochs=10,
        time_limit=None, batch_size=128, optimizer="adam", learning_rate=1e-3,
        lr_schedule="plateau",
        warmup_epochs=1.0, weight_decay=0.0, label_smoothing=0.0, precise_bn=True,
        validation_fraction=0.1,
        early_stopping_patience=3, reduce_lr_patience=2, reduce_lr_factor=0.5, min_lr=1e-5,
        checkpoint_dir=None, tensorboard_dir=None, histogram_freq=0, callbacks=None,
        class_weight=None, random_state=None, verbose=0,
    ):
        set_init_params(self, locals())

    def _builder(self):
        if not callable(self.build_fn):
            raise TypeError(f"build_fn must be callable, got {self.build_fn!r}.")
        if self.build_params is not None and not isinstance(self.build_params, dict):
            raise TypeError(f"build_params must be a dict or None, got {self.build_params!r}.")
        return self.build_fn, dict(self.build_params or {})


class _ImageMember(MemberClassifierBase):
    """Built-in architectures: flat rows are read as square grey images."""

    def _guess_input_shape(self, n_features):
        return square_image_shape(n_features)


@with_training_docs
class PlainCNNClassifier(_ImageMember):
    """A plain CNN: a stride-2 stem, conv + batch norm + ReLU stages with pooling, a dense head.

    See :func:`members.builders.build_plain_cnn`. Defaults are tuned for
    accuracy per CPU minute on Fashion-MNIST with 2 CPU cores (see
    BENCHMARKS.md).

    Parameters
    ----------
    stem_filters : int, default=32
    stem_strides : {1, 2}, default=2
        2 halves the resolution in the stem, where a CPU spends most; 1
        runs every stage at twice the resolution: 4x the compute, and on
        Fashion-MNIST 0.941 test accuracy against 0.931 in 16 epochs
        (with ``epochs=12``, 0.9397 with flip TTA in 29 minutes on 2 cores).
    filters : tuple of int, default=(64, 128)
        Filters of each stage.
    convs_per_stage : int, default=1
    dense_units : int, default=128
    dropout : float, default=0.3

    See Also
    --------
    SeparableCNNClassifier : Depthwise separable convolutions.
    ResidualNetClassifier : Residual blocks.
    KerasMemberClassifier : Your own network.
    ensemble.WeightedAverageEnsemble : Blends members.

    Examples
    --------
    A tiny network and one epoch on a few random images, to show the calls:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(40, 8, 8, 1), dtype=np.uint8)  # 40 grey 8x8 images
    >>> y = np.arange(40) % 2
    >>> from members import PlainCNNClassifier
    >>> clf = PlainCNNClassifier(stem_filters=4, filters=(8,), dense_units=8, epochs=1,
    ...                          random_state=0)
    >>> clf.fit(X, y).predict_proba(X[:3]).shape
    (3, 2)
    >>> clf.predict(X[:3]).shape, clf.n_features_in_
    ((3,), 64)
    """

    def __init__(
        self, *, stem_filters=32, stem_strides=2, filters=(64, 128), convs_per_stage=1,
        dense_units=128, dropout=0.3, input_shape=None, pixel_scale="auto",
        random_shift=RANDOM_SHIFT, horizontal_flip=False, augmentation=None, tta="auto",
        epochs=PLAIN_EPOCHS, batch_size=128, optimizer="adam", learning_rate=LEARNING_RATE,
        time_limit=None, lr_schedule="cosine", warmup_epochs=1.0, weight_decay=WEIGHT_DECAY,
        label_smoothing=0.0,
        precise_bn=True,
        validation_fraction=0.1, early_stopping_patience=EARLY_STOPPING_PATIENCE,
        reduce_lr_patience=2, reduce_lr_factor=0.5, min_lr=1e-5, checkpoint_dir=None,
        tensorboard_dir=None, histogram_freq=0, callbacks=None, class_weight=None,
        random_state=None, verbose=0,
    ):
        set_init_params(self, locals())

    def _builder(self):
        return builders.build_plain_cnn, {
            "stem_filters": self.stem_filters, "stem_strides": self.stem_strides,
            "filters": tuple(self.filters), "convs_per_stage": self.convs_per_stage,
            "dense_units": self.dense_units, "dropout": self.dropout,
        }


@with_training_docs
class SeparableCNNClassifier(_ImageMember):
    """A depthwise separable CNN with a global-average-pooling head.

    See :func:`members.builders.build_separable_cnn`.

    Parameters
    ----------
    stem_filters : int, default=32
    stem_strides : {1, 2}, default=2
    filters : tuple of int, default=(64, 128)
        Filters of each separable stage.
    convs_per_stage : int, default=2
    dropout : float, default=0.2

    See Also
    --------
    PlainCNNClassifier : Plain convolutions and a dense head.
    ResidualNetClassifier : Residual blocks.
    KerasMemberClassifier : Your own network.
    ensemble.WeightedAverageEnsemble : Blends members.

    Examples
    --------
    A tiny network and one epoch on a few random images, to show the calls:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(40, 8, 8, 1), dtype=np.uint8)  # 40 grey 8x8 images
    >>> y = np.arange(40) % 2
    >>> from members import SeparableCNNClassifier
    >>> clf = SeparableCNNClassifier(stem_filters=4, filters=(8,), epochs=1, random_state=0)
    >>> clf.fit(X, y).predict_proba(X[:3]).shape
    (3, 2)
    >>> clf.predict(X[:3]).shape, clf.n_features_in_
    ((3,), 64)
    """

    def __init__(
        self, *, stem_filters=32, stem_strides=2, filters=(64, 128), convs_per_stage=2,
        dropout=0.2, input_shape=None, pixel_scale="auto", random_shift=RANDOM_SHIFT,
        horizontal_flip=False, augmentation=None, tta="auto", epochs=SEPARABLE_EPOCHS,
        time_limit=None, batch_size=128, optimizer="adam", learning_rate=LEARNING_RATE,
        lr_schedule="cosine",
        warmup_epochs=1.0, weight_decay=WEIGHT_DECAY, label_smoothing=0.0, precise_bn=True,
        validation_fraction=0.1, early_stopping_patience=EARLY_STOPPING_PATIENCE,
        reduce_lr_patience=2, reduce_lr_factor=0.5, min_lr=1e-5, checkpoint_dir=None,
        tensorboard_dir=None, histogram_freq=0, callbacks=None, class_weight=None,
        random_state=None, verbose=0,
    ):
        set_init_params(self, locals())

    def _builder(self):
        return builders.build_separable_cnn, {
            "stem_filters": self.stem_filters, "stem_strides": self.stem_strides,
            "filters": tuple(self.filters), "convs_per_stage": self.convs_per_stage,
            "dropout": self.dropout,
        }


@with_training_docs
class ResidualNetClassifier(_ImageMember):
    """A small residual network (stride-2 stem, stages of residual blocks, global pooling).

    See :func:`members.builders.build_residual_net`.

    Parameters
    ----------
    stem_filters : int, default=32
    stem_strides : {1, 2}, default=2
    filters : tuple of int, default=(32, 64, 128)
        Filters of each stage; every stage after the first halves resolution.
    blocks_per_stage : int, default=1
    dropout : float, default=0.2

    See Also
    --------
    PlainCNNClassifier : Plain convolutions and a dense head.
    SeparableCNNClassifier : Depthwise separable convolutions.
    KerasMemberClassifier : Your own network.
    ensemble.WeightedAverageEnsemble : Blends members.

    Examples
    --------
    A tiny network and one epoch on a few random images, to show the calls:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(40, 8, 8, 1), dtype=np.uint8)  # 40 grey 8x8 images
    >>> y = np.arange(40) % 2
    >>> from members import ResidualNetClassifier
    >>> clf = ResidualNetClassifier(stem_filters=4, filters=(8,), epochs=1, random_state=0)
    >>> clf.fit(X, y).predict_proba(X[:3]).shape
    (3, 2)
    >>> clf.predict(X[:3]).shape, clf.n_features_in_
    ((3,), 64)
    """

    def __init__(
        self, *, stem_filters=32, stem_strides=2, filters=(32, 64, 128), blocks_per_stage=1,
        dropout=0.2, input_shape=None, pixel_scale="auto", random_shift=RANDOM_SHIFT,
        horizontal_flip=False, augmentation=None, tta="auto", epochs=RESIDUAL_EPOCHS,
        time_limit=None, batch_size=128, optimizer="adam", learning_rate=LEARNING_RATE,
        lr_schedule="cosine",
        warmup_epochs=1.0, weight_decay=WEIGHT_DECAY, label_smoothing=0.0, precise_bn=True,
        validation_fraction=0.1, early_stopping_patience=EARLY_STOPPING_PATIENCE,
        reduce_lr_patience=2, reduce_lr_factor=0.5, min_lr=1e-5, checkpoint_dir=None,
        tensorboard_dir=None, histogram_freq=0, callbacks=None, class_weight=None,
        random_state=None, verbose=0,
    ):
        set_init_params(self, locals())

    def _builder(self):
        return builders.build_residual_net, {
            "stem_filters": self.stem_filters, "stem_strides": self.stem_strides,
            "filters": tuple(self.filters), "blocks_per_stage": self.blocks_per_stage,
            "dropout": self.dropout,
        }
