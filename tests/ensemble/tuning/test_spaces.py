"""ensemble.tuning.spaces: the preset search spaces, and spaces read from JSON files."""

import json

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from ensemble.tuning import default_search_space, load_search_space
from members import PlainCNNClassifier, ResidualNetClassifier, SeparableCNNClassifier


@pytest.mark.parametrize("name, cls", [("plain", PlainCNNClassifier),
                                       ("separable", SeparableCNNClassifier),
                                       ("residual", ResidualNetClassifier)])
def test_every_preset_names_parameters_of_its_member(name, cls):
    space = default_search_space(name)
    assert set(space) <= set(cls().get_params())
    assert space["learning_rate"].log and space is not default_search_space(name)
    assert cls().learning_rate >= space["learning_rate"].low  # the defaults are inside the space


def test_a_json_space_reads_every_distribution_type(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(json.dumps({
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        "dense_units": {"type": "int", "low": 8, "high": 64, "log": True},
        "convs_per_stage": {"type": "int", "low": 1, "high": 3},
        "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
    }))
    space = load_search_space(path)
    assert space == {
        "learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
        "dropout": FloatDistribution(0.0, 0.5, step=0.1),
        "dense_units": IntDistribution(8, 64, log=True),
        "convs_per_stage": IntDistribution(1, 3),
        "optimizer": CategoricalDistribution(["adam", "sgd"]),
    }


@pytest.mark.parametrize("text, match", [
    ("{", "not valid JSON"),
    ("[]", "non-empty JSON object"),
    ('{"lr": {"type": "uniform", "low": 0, "high": 1}}', "'lr'.*\"type\" one of float, int"),
    ('{"lr": {"type": "float", "low": 0, "hi": 1}}', "'lr': unknown key\\(s\\) hi"),
    ('{"lr": {"type": "float", "low": 1, "high": 0.1}}', "'lr'.*low <= high"),
    ('{"lr": {"type": "float", "low": "a", "high": 1}}', "'lr': \"low\" must be a finite number"),
    ('{"units": {"type": "int", "low": 1.5, "high": 8}}', "\"low\" must be a finite integer"),
    ('{"lr": {"type": "float", "low": 0.1, "high": 1, "log": "yes"}}', "\"log\" must be true"),
    ('{"lr": {"type": "float", "low": 0.1, "high": 1, "step": 0}}', "\"step\" must be a positive"),
    ('{"f": {"type": "categorical", "choices": [[16, 32]]}}', "choices must be numbers"),
    ('{"f": {"type": "categorical", "choices": []}}', "non-empty list"),
])
def test_a_malformed_json_space_is_a_one_line_error_naming_the_file(text, match, tmp_path):
    path = tmp_path / "space.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as raised:
        load_search_space(path)
    assert str(raised.value).startswith(str(path)) and "\n" not in str(raised.value)
