"""Sphinx configuration of the API reference (``make docs``)."""

import inspect
import os
import sys
from pathlib import Path

from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer

# autodoc imports the packages, and they import TensorFlow: keep its C++ log quiet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The repository root first, so that this checkout's packages are documented
# (not an installed copy, and not tests/members or tests/ensemble).
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

project = "keras-ensembles"
author = "keras-ensembles contributors"
copyright = "keras-ensembles contributors"
release = version = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
    "myst_parser",
]

# The pages list each public name explicitly (autofunction/autoclass, or a
# module's ``__all__`` through automodule :members:), so that
# they survive private modules being moved.
# (No default options: "inherited-members" would make every automodule
# document all its members; class directives name :inherited-members:.)
autodoc_member_order = "bysource"
autodoc_typehints = "none"
# Class pages show their own documented methods through autodoc's ``:members:``;
# numpydoc's extra autosummary table of members would list scikit-learn's
# inherited methods (``set_fit_request`` ...) whose docstrings are not ours.
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# Every cross-reference must resolve (``make docs`` turns warnings into errors).
nitpicky = True
# ... except names of other projects: their inventories (intersphinx) would
# need the network, which the build must not (CI and `make docs` run offline).
# Only these packages' names are let through; any name of ours must resolve.
nitpick_ignore_regex = [
    (r"py:.*", r"(sklearn|matplotlib|numpy|scipy|pandas|optuna|keras|tensorflow|joblib|os)\..+"),
]
nitpick_ignore = [
    ("py:func", "open"),  # the built-in
]

exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []

def _skip_scikit_learn_members(app, what, name, obj, skip, options):
    """Leave out the methods classes inherit from scikit-learn's mixins.

    ``inherited-members`` is on so that a combiner's page shows the ``fit``
    and ``predict`` it inherits from our base class; scikit-learn's own
    (``get_metadata_routing``, ``set_output``, ``set_fit_request``, ...) are
    documented by scikit-learn, and their docstrings refer to labels of its
    documentation that do not exist here.
    """
    module = getattr(obj, "__module__", None) or ""
    if module == "sklearn" or module.startswith("sklearn."):
        return True
    return None


def _doc_comment_of_reexported_data(app, what, name, obj, options, lines):
    """A constant a package re-exports keeps the ``#:`` comment of the module defining it.

    ``.. autodata:: ensemble.datasets.CLASS_NAMES`` finds no comment in
    ``ensemble/datasets/__init__.py`` (which only imports the name) and
    would show the docstring of ``tuple`` instead: look for the comment in
    the project's modules that hold the same object under that name.
    """
    if what != "data":
        return
    project = name.partition(".")[0]
    attribute = name.rpartition(".")[2]
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith(project + ".") or getattr(module, attribute, None) is not obj:
            continue
        try:
            comments = ModuleAnalyzer.for_module(module_name).find_attr_docs()
        except PycodeError:
            continue
        if ("", attribute) in comments:
            lines[:] = list(comments[("", attribute)])
            return
    if inspect.cleandoc(type(obj).__doc__ or "") == "\n".join(lines).strip():
        lines[:] = []


def setup(app):
    app.connect("autodoc-skip-member", _skip_scikit_learn_members)
    # Before numpydoc (priority 500) reformats the docstring.
    app.connect("autodoc-process-docstring", _doc_comment_of_reexported_data, priority=400)
