"""ensemble.import_keras_quietly: Keras imported, TensorFlow's start-up lines kept off stderr."""

import os
import subprocess
import sys


def _import_in_fresh_process(code, **env):
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env=environment)


def test_keras_is_imported_without_start_up_lines_and_stderr_still_works():
    result = _import_in_fresh_process(
        "import sys; from ensemble import import_keras_quietly; import_keras_quietly(); "
        "print('keras' in sys.modules); print('still here', file=sys.stderr)")
    assert result.stdout.strip() == "True"
    assert result.stderr.strip() == "still here", result.stderr


def test_a_plain_import_does_print_them_so_the_test_above_can_fail():
    result = _import_in_fresh_process("import keras", TF_CPP_MIN_LOG_LEVEL="3")
    if not result.stderr.strip():
        import pytest

        pytest.skip("this TensorFlow build prints nothing at import")
    assert "I0000" in result.stderr or "oneDNN" in result.stderr or "cuda" in result.stderr


def test_log_level_zero_hides_nothing():
    result = _import_in_fresh_process(
        "from ensemble import import_keras_quietly; import_keras_quietly()",
        TF_CPP_MIN_LOG_LEVEL="0")
    plain = _import_in_fresh_process("import keras", TF_CPP_MIN_LOG_LEVEL="0")
    assert bool(result.stderr.strip()) == bool(plain.stderr.strip())


def test_parallel_workers_import_keras_quietly_too():
    code = """
from ensemble import WeightedAverageEnsemble, import_keras_quietly
import_keras_quietly()
import numpy as np
from members import PlainCNNClassifier
rng = np.random.RandomState(0)
X, y = rng.randint(0, 255, size=(80, 64)).astype("uint8"), np.repeat([0, 1], 40)
member = PlainCNNClassifier(filters=(2,), dense_units=4, epochs=1, validation_fraction=0)
WeightedAverageEnsemble([("a", member), ("b", member)], holdout=0.25, n_jobs=2).fit(X, y)
print("fitted")
"""
    result = _import_in_fresh_process(code)
    assert result.stdout.strip() == "fitted"
    assert "I0000" not in result.stderr and "oneDNN" not in result.stderr, result.stderr
