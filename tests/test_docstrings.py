"""Every public estimator documents each of its parameters in its own docstring (numpydoc)."""

import inspect
import re

import pytest

import ensemble
import members
from ensemble.tuning import BayesSearchCV

ESTIMATORS = [getattr(members, name) for name in ("KerasMemberClassifier", "PlainCNNClassifier",
                                                  "SeparableCNNClassifier",
                                                  "ResidualNetClassifier")]
ESTIMATORS += [ensemble.WeightedAverageEnsemble, ensemble.StackingEnsemble,
               ensemble.PredictionBlender, BayesSearchCV]


def documented_parameters(cls):
    doc = inspect.cleandoc(cls.__doc__)
    section = doc.split("Parameters\n----------\n", 1)[1]
    section = re.split(r"\n\n[A-Z][A-Za-z ]+\n-+\n", section, maxsplit=1)[0]
    names = []
    for line in section.splitlines():
        match = re.match(r"^([\w, *]+) : ", line)
        if match:
            names += [name.strip(" *") for name in match.group(1).split(",")]
    return names


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_every_parameter_is_documented_once(cls):
    signature = [name for name in inspect.signature(cls.__init__).parameters if name != "self"]
    documented = documented_parameters(cls)
    assert sorted(documented) == sorted(signature)
    assert len(set(documented)) == len(documented)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_sections_come_in_numpydoc_order(cls):
    doc = inspect.cleandoc(cls.__doc__)
    order = ["Parameters", "Attributes", "See Also", "Notes", "Examples"]
    found = [section for section in order if f"\n{section}\n{'-' * len(section)}\n" in doc]
    assert found == sorted(found, key=order.index)
    assert {"Parameters", "See Also", "Examples"} <= set(found)
    assert "%(" not in doc
