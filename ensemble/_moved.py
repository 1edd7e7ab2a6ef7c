"""Old public module paths, kept importable for one release after the modules moved.

``ensemble.metrics`` and its neighbours moved into sub-packages by idea
(``ensemble.evaluation``, ``ensemble.combiners``, ``ensemble.prediction_files``).
Code written for the old paths keeps working: importing one returns the
module at its new home and warns (``FutureWarning``, scikit-learn's choice
for changes a user must act on) with the path to use instead.
"""

import importlib
import importlib.abc
import importlib.util
import warnings

#: Old module path -> where it lives now.
MOVED_MODULES = {
    "ensemble.calibration": "ensemble.combiners.calibration",
    "ensemble.comparison": "ensemble.evaluation.comparison",
    "ensemble.metrics": "ensemble.evaluation.metrics",
    "ensemble.plots": "ensemble.evaluation.plots",
    "ensemble.prediction_sets": "ensemble.prediction_files.sets",
    "ensemble.predictions": "ensemble.prediction_files.files",
    # The old module held both the weight learners and the blends that apply
    # them; the package exports both halves.
    "ensemble.weights": "ensemble.combiners",
}


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolve an old module path to the module at its new home, with a warning."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        new_path = MOVED_MODULES[spec.name]
        warnings.warn(
            f"{spec.name} moved to {new_path}; import it from there (the old path "
            "will be removed in a future release).",
            FutureWarning,
            stacklevel=2,
        )
        return importlib.import_module(new_path)

    def exec_module(self, module):
        """Nothing to run: the module was imported at its new home."""
