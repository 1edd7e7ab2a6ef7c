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
