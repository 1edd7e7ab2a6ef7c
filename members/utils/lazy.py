"""Package attributes imported on first use (PEP 562), so that importing a package is cheap."""

import importlib


def lazy_attributes(package, exports):
    """``__getattr__``, ``__dir__`` and ``__all__`` for a package whose names load on first access.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : dict of str to tuple of str
        Submodule (relative, e.g. ``"._wrapper"``, or absolute) -> the public
        names it defines that the package exports.

    Returns
    -------
    (callable, callable, list of str)
        Assign them to the package's ``__getattr__``, ``__dir__`` and
        ``__all__`` (sorted).

    Raises
    ------
    ValueError
        If two submodules export the same name.
    """
    module = importlib.import_module(package)
    where = _name_to_module(exports)

    def __getattr__(name):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name], package), name)
        setattr(module, name, value)  # later lookups skip __getattr__
        return value

    def __dir__():
        return sorted(set(vars(module)) | set(where))

    return __getattr__, __dir__, sorted(where)


def _name_to_module(exports):
    where = {}
    for submodule, names in exports.items():
        for name in names:
            if name in where:
                raise ValueError(f"{name!r} is exported by both {where[name]!r} and {submodule!r}")
            where[name] = submodule
    return where
