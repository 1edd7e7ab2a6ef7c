"""``python -m ensemble`` runs the ``keras-ensembles`` command line."""

import sys

from ensemble.cli import main

if __name__ == "__main__":
    sys.exit(main())
