"""Estimator parameters: ``__init__`` arguments stored once, as scikit-learn expects them.

scikit-learn reads an estimator's parameters from its ``__init__`` signature,
which must list each of them explicitly (no ``*args`` or ``**kwargs``), and
expects ``__init__`` to store every argument unchanged under its own name.
:func:`set_init_params` does that storing, so that classes with long
signatures (the members, the combiners) write each parameter once, in the
signature, rather than again in a list of assignments or in a call that
forwards them to a base class.
"""


def set_init_params(estimator, arguments):
    """Store each ``__init__`` argument as the attribute of the same name, unchanged.

    Parameters
    ----------
    estimator : object
        The estimator being initialised (``self``).
    arguments : dict
        ``locals()`` taken first thing in ``__init__``, when it holds the
        arguments only (and ``self``, and ``__class__`` when the method
        uses ``super()``, which are skipped).

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> from members.utils.params import set_init_params
    >>> class Model(BaseEstimator):
    ...     def __init__(self, *, depth=3, rate=0.1):
    ...         set_init_params(self, locals())
    >>> Model(rate=0.5).get_params()
    {'depth': 3, 'rate': 0.5}
    """
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)
