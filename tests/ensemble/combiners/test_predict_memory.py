"""Prediction on more images than the activations of one pass could hold."""

import subprocess
import sys

import pytest

from helpers import CHILD_PROLOGUE

N_IMAGES = 200_000
#: A whole-set forward pass would need the images as float32 (200,000 * 28 *
#: 28 * 4 bytes = 598 MiB) and then the stem's activations (4 filters at
#: stride 2: 598 MiB again) per member; batched prediction needs one
#: 512-image batch at a time. Measured: the peak grew by 60 MiB for two
#: members (2 CPU cores). The stem is narrowed to 4 filters only to keep
#: the test short (13.7 s of prediction instead of 17.0 s).
MAX_PEAK_GROWTH_MIB = 512

SCRIPT = f"""
import numpy as np
from ensemble import WeightedAverageEnsemble

def status_mib(field):
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024

def reset_peak_rss():
    try:  # Linux >= 4.0: "5" resets the peak resident size to the current one
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass

rng = np.random.RandomState(0)
y = np.repeat(np.arange(3), 100)
X = rng.randint(0, 256, size=(300, 28, 28, 1)).astype("uint8")
members = [(f"plain{{seed}}", tiny_plain(stem_filters=4, filters=(8,), epochs=1,
                                          random_state=seed))
           for seed in range(2)]
learned = WeightedAverageEnsemble(members, holdout=0.3, random_state=0).fit(X, y)
images = rng.randint(0, 256, size=({N_IMAGES}, 28, 28, 1), dtype=np.uint8)
reset_peak_rss()
before, peak_before = status_mib("VmRSS"), status_mib("VmHWM")
proba = learned.predict_proba(images)
after = status_mib("VmHWM")
# Without a reset, an earlier peak would hide the one measured here.
assert peak_before - before < 64, (before, peak_before)
assert proba.shape == ({N_IMAGES}, 3), proba.shape
assert np.allclose(proba.sum(axis=1), 1.0)
print(before, after)
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_predict_proba_on_200k_images_holds_one_batch_of_activations_at_a_time():
    result = subprocess.run([sys.executable, "-c", CHILD_PROLOGUE + SCRIPT],
                            capture_output=True, text=True, check=True)
    before, after = map(float, result.stdout.split())
    assert after - before < MAX_PEAK_GROWTH_MIB, (
        f"peak RSS grew {after - before:.0f} MiB while predicting {N_IMAGES} images")
