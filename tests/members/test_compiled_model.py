"""MemberClassifierBase.compiled_model: the Keras model fit trains, public for benchmarks."""

import numpy as np

from members import PlainCNNClassifier


def test_compiled_model_is_the_model_fit_trains():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(40, 8, 8, 1)).astype("uint8")
    y = np.arange(40) % 2
    member = PlainCNNClassifier(filters=(4,), dense_units=8, epochs=1, batch_size=20,
                                validation_fraction=0.0, random_state=0)
    model = member.compiled_model((8, 8, 1), 2, 1 / 255, steps_per_epoch=2, seed=0)
    fitted = member.fit(X, y).model_
    assert model.optimizer is not None
    assert model.input_shape == fitted.input_shape == (None, 64)
    assert model.output_shape == fitted.output_shape == (None, 2)
    assert [layer.name for layer in model.layers] == [layer.name for layer in fitted.layers]
    assert model.count_params() == fitted.count_params()
