"""scikit-learn's estimator checks on every public estimator (tiny configurations)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import tiny_combiners, tiny_members

#: Checks that cannot pass for a reason inherent to the estimator, not a bug.
EXPECTED_FAILED_CHECKS = {}


def _expected_failures(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(
    tiny_members() + tiny_combiners(), expected_failed_checks=_expected_failures
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
