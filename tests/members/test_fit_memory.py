"""Resident memory across many fits: what a long search or cross-validation needs."""

import subprocess
import sys

import numpy as np
import pytest

from helpers import CHILD_PROLOGUE

#: Resident memory grows by steps of allocator pages and freed heap that stays
#: resident, so the growth between two snapshots depends on the machine (one
#: 2-core machine saw 54 MiB over 6 fits without a leak, when six fits' garbage
#: piled up before a collection). What a leak does is grow with every fit, after
#: every collection: the least-squares slope of RSS (each measured after a full
#: collection) over the fits after a warm-up. Measured with this tiny CNN:
#: about 0 MiB per fit without a leak; 5.1 MiB per fit with TensorFlow's traced
#: custom gradients kept (tensorflow#61791; 9-10 MiB with a larger network).
MAX_GROWTH_PER_FIT_MIB = 2.5
FITS = 12
WARM_UP = 4

SCRIPT = f"""
import gc
def rss_mib():
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
X, y = make_tiny_images()
sizes = []
for fit in range({FITS}):
    tiny_plain(epochs=1, validation_fraction=0.2, random_state=fit).fit(X, y).predict_proba(X)
    sizes.append(rss_mib())
print(" ".join(map(str, sizes)))
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_consecutive_fits_keep_resident_memory_bounded():
    result = subprocess.run([sys.executable, "-c", CHILD_PROLOGUE + SCRIPT],
                            capture_output=True, text=True, check=True)
    sizes = np.array(result.stdout.split(), dtype=float)
    after_warm_up = sizes[WARM_UP:]
    growth = float(np.polyfit(np.arange(len(after_warm_up)), after_warm_up, 1)[0])
    assert growth < MAX_GROWTH_PER_FIT_MIB, (
        f"RSS grew {growth:.1f} MiB per fit after warm-up (MiB after each fit: "
        f"{np.round(sizes).astype(int).tolist()})")
