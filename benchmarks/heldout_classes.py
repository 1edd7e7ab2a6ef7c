"""The held-out-classes model of the shift benchmark: the CLI default, trained without some classes.

Writes the full Fashion-MNIST training images of every class but
``--heldout-classes`` to an ``.npz`` file and trains on it with the command
line's defaults (flips on, as ``--data full`` has them), so that
``benchmarks/uncertainty.py`` can measure how well the ensemble tells test
images of the classes it saw from those of the classes it never saw::

    python benchmarks/heldout_classes.py --output m8.zip
    python benchmarks/uncertainty.py --model m.zip --heldout-model m8.zip --parts ood \\
        --name uncertainty_heldout
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ensemble.datasets import load_fashion_mnist


def seen_classes_file(folder, heldout):
    """An ``.npz`` of the training and test images of the classes not in ``heldout``."""
    (X, y), (X_test, y_test), _ = load_fashion_mnist("full", download=False)
    seen, seen_test = ~np.isin(y, heldout), ~np.isin(y_test, heldout)
    path = Path(folder) / "seen_classes.npz"
    np.savez(path, X_train=X[seen], y_train=y[seen], X_test=X_test[seen_test],
             y_test=y_test[seen_test])
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", "-o", required=True, help="the archive to write")
    parser.add_argument("--heldout-classes", default="8,9",
                        help="labels left out of training (default: 8,9)")
    args = parser.parse_args(argv)
    heldout = [int(label) for label in args.heldout_classes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        data = seen_classes_file(folder, heldout)
        command = [sys.executable, "-m", "ensemble", "fit", "--data", str(data),
                   "--horizontal-flip", "on", "--output", args.output, "--json"]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
