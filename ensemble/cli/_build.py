"""Members and combiners from the command line's options, with per-epoch progress."""

import keras
import numpy as np
from tqdm.auto import tqdm

from ensemble import StackingEnsemble, WeightedAverageEnsemble
from ensemble.datasets import SUBSETS
from members import PlainCNNClassifier, ResidualNetClassifier, SeparableCNNClassifier

MEMBER_CLASSES = {
    "plain": PlainCNNClassifier,
    "separable": SeparableCNNClassifier,
    "residual": ResidualNetClassifier,
}


class EpochProgress(keras.callbacks.Callback):
    """A progress bar over one member's epochs, with the latest losses.

    The bar is created when training starts, so the callback can be
    deep-copied (as every member fit does) before that.
    """

    def __init__(self, description):
        super().__init__()
        self.description = description
        self.bar = None

    def on_train_begin(self, logs=None):
        self.bar = tqdm(total=self.params.get("epochs"), desc=self.description, unit="epoch",
                        leave=False, dynamic_ncols=True)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if logs.get("planned_epochs") is not None and self.bar.total != logs["planned_epochs"]:
            # A time budget planned the epochs that fit: the bar's end moves there.
            self.bar.total = int(np.ceil(logs["planned_epochs"]))
        shown = {key: f"{logs[key]:.4f}" for key in ("loss", "val_loss", "val_accuracy")
                 if key in logs}
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def build_members(args, *, show_epochs):
    """``[(name, member)]`` for ``--members``.

    Seeded from ``--seed``, epochs set by ``--epochs``.
    """
    members = []
    for offset, name in enumerate(args.members):
        params = {"random_state": args.seed + offset, "horizontal_flip": horizontal_flip(args)}
        if args.epochs is not None:
            params["epochs"] = args.epochs
        if show_epochs:
            params["callbacks"] = [EpochProgress(f"  {name}")]
        members.append((name, MEMBER_CLASSES[name](**params)))
    return members


def horizontal_flip(args):
    """``--horizontal-flip``: ``auto`` mirrors Fashion-MNIST's clothes, nothing else."""
    if args.horizontal_flip == "auto":
        return args.data in SUBSETS
    return args.horizontal_flip == "on"


def build_ensemble(args, *, show_progress, time_limit=None):
    """The combiner named by ``--combiner`` around :func:`build_members`.

    ``time_limit``: the combiner's budget in seconds (what ``--time-limit``
    leaves for training).
    """
    show_epochs = show_progress and args.n_jobs == 1
    members = build_members(args, show_epochs=show_epochs)
    common = dict(holdout=args.holdout, n_jobs=args.n_jobs, random_state=args.seed,
                  verbose=1 if show_progress else 0, time_limit=time_limit)
    if args.combiner == "stacking":
        return StackingEnsemble(members, **common)
    return WeightedAverageEnsemble(members, weighting=args.weighting, **common)


def drop_progress_callbacks(ensemble):
    """Remove the progress bars from a fitted ensemble's parameters before it is saved.

    They only drew bars; a saved model should not carry (or record the repr
    of) a terminal widget.
    """
    templates = [member for _, member in ensemble.members if member != "drop"]
    for member in templates + list(ensemble.members_):
        if member.get_params().get("callbacks") is not None:
            member.set_params(callbacks=None)
    return ensemble
