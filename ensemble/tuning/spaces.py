"""Search spaces: a preset for every built-in member, and a JSON file format for your own.

A search space maps parameter names (nested ones included, e.g.
``plain__learning_rate`` on a combiner) to Optuna distributions. The presets
only name scalar parameters: Optuna's categorical choices must be ``None``,
booleans, numbers or strings, so tuple-valued parameters such as ``filters``
are tuned through the scalar widths (``dense_units``, ``stem_filters``) and
depths (``convs_per_stage``, ``blocks_per_stage``) instead.

The JSON format is one object, one entry per parameter::

    {
      "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": true},
      "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.05},
      "dense_units": {"type": "int", "low": 32, "high": 256, "log": true},
      "optimizer": {"type": "categorical", "choices": ["adam", "rmsprop"]}
    }

``float`` and ``int`` take ``low`` and ``high`` (both included) and either
``log`` (sample on a log scale) or ``step`` (a grid); ``categorical`` takes
a non-empty list of ``choices``. Nothing else is accepted, so that a typo
is an error rather than a silently ignored key.

Importing this module does not import TensorFlow.
"""

import json
import math
import numbers
from pathlib import Path

from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

__all__ = ["MEMBER_SPACES", "default_search_space", "load_search_space", "parse_search_space"]


def _common():
    """What every built-in member tunes: the peak learning rate, weight decay and dropout."""
    return {
        "learning_rate": FloatDistribution(3e-4, 1e-2, log=True),
        "weight_decay": FloatDistribution(1e-3, 0.3, log=True),
        "dropout": FloatDistribution(0.0, 0.5),
    }


#: Preset spaces of the built-in members, keyed by the command line's member names.
#: The ranges bracket each member's defaults (members/_classifiers.py).
MEMBER_SPACES = {
    "plain": lambda: {
        **_common(),
        "dense_units": IntDistribution(32, 256, log=True),
        "convs_per_stage": IntDistribution(1, 2),
    },
    "separable": lambda: {
        **_common(),
        "stem_filters": IntDistribution(16, 64, log=True),
        "convs_per_stage": IntDistribution(1, 2),
    },
    "residual": lambda: {
        **_common(),
        "stem_filters": IntDistribution(16, 64, log=True),
        "blocks_per_stage": IntDistribution(1, 2),
    },
}

_TYPES = {"float": ("low", "high", "log", "step"), "int": ("low", "high", "log", "step"),
          "categorical": ("choices",)}


def default_search_space(member):
    """The preset search space of a built-in member.

    Parameters
    ----------
    member : {"plain", "separable", "residual"}

    Returns
    -------
    dict of str to optuna.distributions.BaseDistribution
        A fresh dict: changing it changes no preset.

    See Also
    --------
    load_search_space : A search space of your own, from a JSON file.

    Examples
    --------
    >>> from ensemble.tuning import default_search_space
    >>> space = default_search_space("plain")
    >>> "learning_rate" in space
    True
    """
    if member not in MEMBER_SPACES:
        raise ValueError(f"member must be one of {sorted(MEMBER_SPACES)}, got {member!r}.")
    return MEMBER_SPACES[member]()


def load_search_space(path):
    """Read a search space from a JSON file (format in the module docstring).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    dict of str to optuna.distributions.BaseDistribution

    Raises
    ------
    OSError
        The file can't be read.
    ValueError
        It is not valid JSON or not a valid search space; the message names
        the file and the offending entry.

    See Also
    --------
    parse_search_space : The same from a parsed dict.

    Examples
    --------
    >>> import json
    >>> from pathlib import Path
    >>> from ensemble.tuning import load_search_space
    >>> space = {"dropout": {"type": "float", "low": 0.0, "high": 0.5}}
    >>> _ = Path("space.json").write_text(json.dumps(space))
    >>> load_search_space("space.json")
    {'dropout': FloatDistribution(high=0.5, log=False, low=0.0, step=None)}
    """
    text = Path(path).read_text()
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    try:
        return parse_search_space(spec)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def parse_search_space(spec):
    """Optuna distributions from a search space in the JSON layout (already parsed).

    Parameters
    ----------
    spec : dict
        ``{name: {"type": ..., ...}}``.

    Returns
    -------
    dict of str to optuna.distributions.BaseDistribution

    Raises
    ------
    ValueError
        Not a valid search space; the message names the offending entry.

    Examples
    --------
    >>> from ensemble.tuning import parse_search_space
    >>> parse_search_space({"units": {"type": "int", "low": 16, "high": 128, "log": True},
    ...                     "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]}})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'units': IntDistribution(high=128, log=True, low=16, step=1),
     'optimizer': CategoricalDistribution(choices=('adam', 'sgd'))}
    """
    if not isinstance(spec, dict) or not spec:
        raise ValueError("a search space must be a non-empty JSON object of "
                         "{parameter name: distribution}")
    return {name: _distribution(name, entry) for name, entry in spec.items()}


def _distribution(name, entry):
    if not isinstance(entry, dict) or entry.get("type") not in _TYPES:
        raise ValueError(f"parameter {name!r}: expected an object with \"type\" one of "
                         f"{', '.join(_TYPES)}, got {json.dumps(entry)}")
    kind = entry["type"]
    unknown = sorted(set(entry) - {"type", *_TYPES[kind]})
    if unknown:
        raise ValueError(f"parameter {name!r}: unknown key(s) {', '.join(unknown)} for type "
                         f"{kind!r} (allowed: {', '.join(_TYPES[kind])})")
    if kind == "categorical":
        return _categorical(name, entry)
    return _numeric(name, kind, entry)


def _categorical(name, entry):
    choices = entry.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ValueError(f"parameter {name!r}: \"choices\" must be a non-empty list")
    for choice in choices:
        if not (choice is None or isinstance(choice, (bool, str, numbers.Real))):
            raise ValueError(f"parameter {name!r}: choices must be numbers, strings, booleans "
                             f"or null, got {json.dumps(choice)}")
    return CategoricalDistribution(choices)


def _numeric(name, kind, entry):
    number = numbers.Integral if kind == "int" else numbers.Real
    bounds = {}
    for key in ("low", "high"):
        value = entry.get(key)
        if isinstance(value, bool) or not isinstance(value, number) or not math.isfinite(value):
            raise ValueError(f"parameter {name!r}: \"{key}\" must be a finite "
                             f"{'integer' if kind == 'int' else 'number'}, got {json.dumps(value)}")
        bounds[key] = value
    log, step = entry.get("log", False), entry.get("step")
    if not isinstance(log, bool):
        raise ValueError(f"parameter {name!r}: \"log\" must be true or false, "
                         f"got {json.dumps(log)}")
    if step is not None and (isinstance(step, bool) or not isinstance(step, number) or step <= 0):
        raise ValueError(f"parameter {name!r}: \"step\" must be a positive "
                         f"{'integer' if kind == 'int' else 'number'}, got {json.dumps(step)}")
    try:
        if kind == "int":
            return IntDistribution(bounds["low"], bounds["high"], log=log, step=step or 1)
        return FloatDistribution(bounds["low"], bounds["high"], log=log, step=step)
    except ValueError as error:  # low > high, log with step, log of a non-positive low
        raise ValueError(f"parameter {name!r}: {' '.join(str(error).split())}") from None
