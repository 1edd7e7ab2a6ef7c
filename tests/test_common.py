"""scikit-learn's estimator checks on every public estimator (tiny configurations)."""

import keras
from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import TINY_TRAINING, tiny_combiners, tiny_members
from members import PlainCNNClassifier

#: Checks that cannot pass for a reason inherent to the estimator, not a bug.
EXPECTED_FAILED_CHECKS = {}


#: The checks' data are feature vectors, which the members read as images one
#: pixel high: mirroring and shifting them reorders the features, so a member
#: trained with those augmentations can't reach the training accuracy asked for.
AUGMENTED_EXPECTED_FAILURES = {
    "check_classifiers_train": "mirrors and shifts the features of non-image check data",
}


def _expected_failures(estimator):
    if getattr(estimator, "horizontal_flip", False):
        return AUGMENTED_EXPECTED_FAILURES
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


def augmented_member():
    """Every augmentation and optimisation setting switched on, so the checks cover them."""
    return PlainCNNClassifier(
        filters=(4,), dense_units=8, random_shift=0.2, horizontal_flip=True, tta="flip+shift",
        augmentation=[keras.layers.RandomContrast(0.1, seed=0)], label_smoothing=0.1,
        weight_decay=0.01, lr_schedule="cosine", **TINY_TRAINING,
    )


@parametrize_with_checks(
    tiny_members() + [augmented_member()] + tiny_combiners(),
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
