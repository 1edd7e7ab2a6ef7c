"""Walking a Keras network's layers, nested models included.

Imports Keras only inside the function.
"""


def leaf_layers(model):
    """Every layer of ``model`` that is not itself a model, in order, nested models walked.

    A member's network may hold whole models as layers (its augmentation
    block, a user's sub-network); their layers are yielded where the model
    stands.

    Parameters
    ----------
    model : keras.Model

    Yields
    ------
    keras.layers.Layer

    Examples
    --------
    >>> import keras
    >>> from members.utils.layers import leaf_layers
    >>> inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="inner")])
    >>> outer = keras.Sequential([keras.Input((4,)), inner, keras.layers.Dense(2, name="out")])
    >>> [layer.name for layer in leaf_layers(outer)]
    ['inner', 'out']
    """
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from leaf_layers(layer)
        else:
            yield layer
