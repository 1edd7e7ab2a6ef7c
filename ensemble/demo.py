"""``make demo``: three members trained once, five combiners, one report.

Trains the three default members on the bundled Fashion-MNIST sample
(through a WeightedAverageEnsemble that holds out 10 % of the training rows
as blending data and chooses its weights by cross-fitting over them), then
fits log-loss, equal, Caruana and stacking combiners from the kept blending
predictions without training any network again, and prints every member
beside every combiner on the sample's test split, how the weights were
chosen, and the gain over the best member with its 95 % interval.

Run ``python -m ensemble.demo --help`` for options.
"""

import argparse
import time

#: Epochs of each member on the sample, chosen by measurement (BENCHMARKS.md,
#: "make demo"): members of closer strength than their full-data defaults
#: give (the residual member earns a share of the weights from 10 epochs;
#: the separable one earned none at 4, 8 or 12 epochs on 5,400 images, so
#: it gets 4: the same blend, 17 s sooner), and the whole demo in under 3
#: minutes on 2 cores.
DEMO_EPOCHS = {"plain": 12, "separable": 4, "residual": 10}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ensemble.demo",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None,
                        help="every member's epochs (default: plain 12, separable 4, residual "
                             "10, sized for the sample and 3 minutes on 2 cores)")
    parser.add_argument("--n-train", type=int, default=None,
                        help="use only the first N training images of the sample")
    # One after another by default: on 2 cores, parallel fits measured
    # 0.66-0.97x the speed (each TensorFlow process already uses both cores).
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="members trained in parallel (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def default_members(epochs=None, seed=0):
    """The three built-in members, with :data:`DEMO_EPOCHS` (or ``epochs`` for all).

    Mirrored clothes are still the same clothes, so the members train on
    mirror images too (and average each prediction with its mirror's), as
    ``keras-ensembles fit`` does for Fashion-MNIST.
    """
    from members import PlainCNNClassifier, ResidualNetClassifier, SeparableCNNClassifier

    classes = {"plain": PlainCNNClassifier, "separable": SeparableCNNClassifier,
               "residual": ResidualNetClassifier}
    return [
        (name, cls(random_state=seed + offset, horizontal_flip=True,
                   epochs=DEMO_EPOCHS[name] if epochs is None else epochs))
        for offset, (name, cls) in enumerate(classes.items())
    ]


def main(argv=None):
    args = parse_args(argv)
    from ensemble import import_keras_quietly

    import_keras_quietly()  # keep TensorFlow's start-up lines out of the demo's output
    from ensemble import StackingEnsemble, WeightedAverageEnsemble, report
    from ensemble.datasets import load_fashion_mnist

    (X_train, y_train), (X_test, y_test), class_names = load_fashion_mnist("sample")
    if args.n_train:
        X_train, y_train = X_train[:args.n_train], y_train[:args.n_train]
    print(f"Fashion-MNIST sample: {len(X_train)} training and {len(X_test)} test images, "
          f"{len(class_names)} classes")

    start = time.perf_counter()
    learned = WeightedAverageEnsemble(
        default_members(args.epochs, args.seed), holdout=0.1,
        n_jobs=args.n_jobs, random_state=args.seed, verbose=0 if args.quiet else 1,
    ).fit(X_train, y_train)
    train_seconds = time.perf_counter() - start

    start = time.perf_counter()
    others = {
        "log-loss weights": WeightedAverageEnsemble.from_blend(learned, weighting="log_loss"),
        "equal weights": WeightedAverageEnsemble.from_blend(learned, weighting="equal"),
        "Caruana selection": WeightedAverageEnsemble.from_blend(learned, weighting="caruana"),
        "stacking (logistic)": StackingEnsemble.from_blend(learned),
    }
    combine_seconds = time.perf_counter() - start

    print(f"\nMembers trained once in {train_seconds:.0f} s "
          f"({learned.network_fits_} network fits); "
          f"{len(others)} more combiners learned from the kept blending predictions "
          f"({learned.blend_predictions_.shape[1]} held-out rows) in {combine_seconds:.2f} s.")
    print("Weights column: the weights the default combiner chose (weighting='auto': the "
          "simplest rule within one standard error of the lowest cross-fitted log loss over "
          "the held-out rows).\n")
    print(report(learned, X_test, y_test, name="chosen weights", others=others))


if __name__ == "__main__":
    main()
