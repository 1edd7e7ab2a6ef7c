"""benchmarks/uncertainty.py: its unfamiliar sets and AURC comparison (no training)."""

import numpy as np

import uncertainty


def test_digits_are_scaled_to_28x28_grey_pixels():
    digits = uncertainty.digits_28x28()
    assert digits.shape == (1797, 28, 28, 1) and digits.dtype == np.uint8
    assert digits.min() == 0 and digits.max() == 255


def test_the_unfamiliar_sets_have_the_test_images_shape():
    X_test = np.zeros((2500, 28, 28, 1), dtype=np.uint8)
    sets = uncertainty.unfamiliar_sets(X_test, seed=0)
    assert list(sets) == ["digits (sklearn, 28x28)", "uniform noise", "inverted test images"]
    for images in sets.values():
        assert images.shape[1:] == X_test.shape[1:] and images.dtype == np.uint8
    assert np.all(sets["inverted test images"] == 255)


def test_aurc_is_compared_with_the_best_members_on_the_same_resamples():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    proba = rng.dirichlet([1, 1, 1], 400)
    proba[np.arange(200), y[:200]] += 2  # right and sure on half the rows
    proba /= proba.sum(axis=1, keepdims=True)
    wrong_first = proba.max(axis=1)  # ranks the sure rows as least certain: a worse AURC
    rankings = {"best member by max probability": (proba, 1 - proba.max(axis=1)),
                "ensemble by entropy": (proba, wrong_first)}
    from ensemble.evaluation.uncertainty import aurc

    rows = [{"ranking": name, "aurc": aurc(y, p, [0, 1, 2], uncertainty=u)}
            for name, (p, u) in rankings.items()]
    uncertainty._add_relative_aurc(rows, rankings, y, np.array([0, 1, 2]), seed=0)
    best, worse = rows
    assert best["aurc_relative_to_best_member"] == 0 and best["aurc_relative_interval"] == [0, 0]
    low, high = worse["aurc_relative_interval"]
    assert 0 < low <= worse["aurc_relative_to_best_member"] <= high
