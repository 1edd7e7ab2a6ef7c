"""Package attributes imported on first use (PEP 562), so that importing a package is cheap."""

import importlib


def lazy_attributes(package, names):
    """``__getattr__`` and ``__dir__`` for a package whose public names load on first access.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names : dict of str to str
        Public name -> the submodule (relative, e.g. ``"._wrapper"``) defining it.

    Returns
    -------
    (callable, callable)
        Assign them to the package's ``__getattr__`` and ``__dir__``.
    """
    module = importlib.import_module(package)

    def __getattr__(name):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(names[name], package), name)
        setattr(module, name, value)  # later lookups skip __getattr__
        return value

    def __dir__():
        return sorted(set(vars(module)) | set(names))

    return __getattr__, __dir__
