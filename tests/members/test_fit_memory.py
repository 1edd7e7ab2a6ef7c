"""Resident memory across many fits: what a long search or cross-validation needs."""

import subprocess
import sys

import pytest

from helpers import CHILD_PROLOGUE

#: Measured on 2 CPU cores, TensorFlow 2.21: RSS after a collection grows by
#: about 0.02 MiB per fit of the tiny CNN below; before the traced custom
#: gradients were dropped it grew by 9-10 MiB per fit (250 MiB over 25 fits),
#: which would be 54-60 MiB over the 6 fits measured here (after 5 to warm up).
MAX_GROWTH_MIB = 30

SCRIPT = """
import gc
def rss_mib():
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
X, y = make_tiny_images()
sizes = []
for fit in range(11):
    tiny_plain(epochs=1, validation_fraction=0.2, random_state=fit).fit(X, y).predict_proba(X)
    if fit in (4, 10):
        sizes.append(rss_mib())
print(sizes[0], sizes[1])
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_consecutive_fits_keep_resident_memory_bounded():
    result = subprocess.run([sys.executable, "-c", CHILD_PROLOGUE + SCRIPT],
                            capture_output=True, text=True, check=True)
    after_warm_up, after_eleven = map(float, result.stdout.split())
    growth = after_eleven - after_warm_up
    assert growth < MAX_GROWTH_MIB, f"RSS grew {growth:.0f} MiB over 6 fits"
