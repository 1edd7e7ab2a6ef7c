"""The "more diverse members" lever of the shift benchmark: several seeds of the best member.

The CLI-default ensemble gives its plain member about 0.77 of the weight and
the separable one nothing, so under shift it is mostly one network. This
script fits what Lakshminarayanan et al. (2017) call a deep ensemble, the
setting in which Ovadia et al. (2019) measured ensembles' calibration under
shift: ``--seeds`` copies of the CLI's plain member (the same defaults and
flips as ``keras-ensembles fit --data full``), differing only in their seed,
blended by the same default combiner, and saves it for
``benchmarks/uncertainty.py``::

    python benchmarks/seeds_ensemble.py --output seeds.zip
    python benchmarks/uncertainty.py --model seeds.zip --name uncertainty_seeds
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from ensemble import WeightedAverageEnsemble, save  # noqa: E402
from ensemble.datasets import load_fashion_mnist  # noqa: E402
from members import PlainCNNClassifier  # noqa: E402


def seeds_ensemble(n_seeds, seed=0):
    """``n_seeds`` plain members as ``keras-ensembles fit`` makes them, in the default combiner."""
    members = [(f"plain_{k}", PlainCNNClassifier(random_state=seed + k, horizontal_flip=True))
               for k in range(n_seeds)]
    return WeightedAverageEnsemble(members, holdout=0.1, random_state=seed)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", "-o", required=True, help="the archive to write")
    parser.add_argument("--seeds", type=int, default=3, help="plain members (default: 3)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    (X, y), _, names = load_fashion_mnist("full")
    start = time.perf_counter()
    ensemble = seeds_ensemble(args.seeds, args.seed).fit(X, y)
    seconds = time.perf_counter() - start
    ensemble.class_names_ = tuple(names)
    save(ensemble, args.output)
    print(json.dumps({"output": args.output, "train_seconds": round(seconds, 1),
                      "weights": dict(zip(ensemble.named_members_,
                                          map(float, ensemble.weights_), strict=True))}))


if __name__ == "__main__":
    main()
