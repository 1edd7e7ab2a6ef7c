"""Same seeds, same probabilities, in fresh processes: members and the combiners over them.

Each run is one child process (a TensorFlow start-up costs several seconds
on 2 cores), which prints one digest per configuration: the members seeded
with the run's seed (and, when asked, with another seed), then three
combiners with fixed seeds.
"""

import subprocess
import sys
import textwrap

import pytest

from helpers import CHILD_PROLOGUE

SCRIPT = textwrap.dedent("""
    import hashlib
    import numpy as np
    from members import PlainCNNClassifier, ResidualNetClassifier
    from ensemble import StackingEnsemble, WeightedAverageEnsemble

    def digest(proba):
        return hashlib.sha256(proba.tobytes()).hexdigest()

    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(3), 40)
    X = rng.randint(0, 256, size=(120, 8, 8, 1)).astype("uint8")
    X[y == 1, :4] //= 2
    for kind, seed in (("member", {seed}), ("other", {other_seed!r})):
        if seed is None:
            continue
        for cls, params in {member_configurations!r}:
            clf = eval(cls)(**params, epochs=3, batch_size=16, validation_fraction=0.25,
                            random_state=seed)
            print(kind, cls, digest(clf.fit(X, y).predict_proba(X)))
    X, y = make_tiny_images()
    members = [("plain", tiny_plain(dropout=0.5, random_state=1)),
               ("mlp", KerasMemberClassifier(build_tiny_mlp,
                                             **dict(TINY_TRAINING, random_state=2)))]
    for combiner in (WeightedAverageEnsemble(members, random_state=3, holdout=0.25),
                     WeightedAverageEnsemble(members, random_state=4, holdout=0.25),
                     StackingEnsemble(members, cv=2)):
        print("combiner", type(combiner).__name__,
              digest(combiner.fit(X, y).predict_proba(X)))
""")

#: Plain, residual and an augmented member (shifts, flips, label smoothing, TTA).
MEMBER_CONFIGURATIONS = [
    ("PlainCNNClassifier", dict(filters=(4,), dense_units=8, dropout=0.5)),
    ("ResidualNetClassifier", dict(stem_filters=4, filters=(4, 8), dropout=0.5)),
    ("PlainCNNClassifier", dict(filters=(4,), dense_units=8, random_shift=0.25,
                                horizontal_flip=True, label_smoothing=0.1, tta="flip+shift")),
]


def digests(seed, other_seed=None):
    """{"member": [...], "combiner": [...], "other": [...]} digests of one fresh process.

    "other": the members again with ``other_seed``, in the same process (one
    TensorFlow start-up fewer than a third child).
    """
    script = SCRIPT.format(member_configurations=MEMBER_CONFIGURATIONS, seed=seed,
                           other_seed=other_seed)
    out = subprocess.run([sys.executable, "-c", CHILD_PROLOGUE + script], capture_output=True,
                         text=True, check=True).stdout
    found = {"member": [], "combiner": [], "other": []}
    for line in out.splitlines():
        kind, *rest = line.split(" ")
        if kind in found:
            found[kind].append(" ".join(rest))
    return found


@pytest.mark.slow
def test_same_seeds_give_the_same_probabilities_in_fresh_processes():
    first, second = digests(7, other_seed=8), digests(7)
    assert len(first["member"]) == len(first["other"]) == len(MEMBER_CONFIGURATIONS)
    assert len(first["combiner"]) == 3
    assert first["member"] == second["member"]
    assert first["combiner"] == second["combiner"]
    # The seeds really drive the result: every member's, and the ensemble's
    # own (which rows it holds out).
    assert all(a != b for a, b in zip(first["member"], first["other"], strict=True))
    assert first["combiner"][0] != first["combiner"][1]
