"""distill(): one member taught by a fitted ensemble, as an ordinary member."""

import keras
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from ensemble import StackingEnsemble, WeightedAverageEnsemble, load, save
from ensemble.export import distill, distillation, to_keras
from ensemble.export.distillation import cheapest_member
from helpers import tiny_plain, tiny_plain_and_separable
from members import PlainCNNClassifier, SeparableCNNClassifier


def kl(p, q):
    """Mean KL(p || q) over rows."""
    return float(np.mean(np.sum(p * np.log(np.clip(p, 1e-12, None) / np.clip(q, 1e-12, None)),
                                axis=1)))


@pytest.fixture(scope="module")
def teacher(tiny_split):
    X, y, _, _ = tiny_split
    return WeightedAverageEnsemble(tiny_plain_and_separable(), weighting="equal",
                                   holdout=0.3, random_state=0).fit(X, y)


def test_a_student_has_every_class_of_the_teacher_even_those_y_lacks(teacher, tiny_split):
    X, y, _, _ = tiny_split
    student = distill(teacher, X[y < 3], y[y < 3], student=tiny_plain())
    assert student.classes_.tolist() == [0, 1, 2, 3]


def test_the_fastest_member_is_measured_here(teacher, tiny_split):
    fastest = cheapest_member(teacher, tiny_split[0])
    assert set(fastest.seconds) == {"plain", "separable"}
    assert all(seconds > 0 for seconds in fastest.seconds.values())
    assert fastest.seconds[fastest.name] == min(fastest.seconds.values())
    assert fastest.member is teacher.named_members_[fastest.name]


def test_the_default_student_copies_the_fastest_member(teacher, tiny_split, monkeypatch):
    X, y, X_test, _ = tiny_split
    # Tiny networks time within noise of each other: fix which one is faster.
    monkeypatch.setattr(distillation, "_median_seconds",
                        lambda member, rows: 1.0 if isinstance(member, SeparableCNNClassifier)
                        else 2.0)
    student = distill(teacher, X, y)
    separable = teacher.named_members_["separable"]
    assert type(student) is SeparableCNNClassifier and student is not separable
    assert student.get_params()["filters"] == separable.get_params()["filters"]
    assert student.classes_.tolist() == [0, 1, 2, 3]
    assert student.predict_proba(X_test).shape == (len(X_test), 4)


def test_a_student_saves_loads_blends_and_exports(teacher, tiny_split, tmp_path):
    X, y, X_test, _ = tiny_split
    template = tiny_plain(random_state=5)
    student = distill(teacher, X, y, student=template)
    assert not hasattr(template, "model_")  # the template was cloned, not fitted
    save(student, tmp_path / "student.zip")
    loaded = load(tmp_path / "student.zip")
    np.testing.assert_allclose(loaded.predict_proba(X_test), student.predict_proba(X_test),
                               atol=1e-6)
    np.testing.assert_allclose(to_keras(loaded).predict(X_test, verbose=0),
                               student.predict_proba(X_test), atol=1e-5)
    blend = WeightedAverageEnsemble([("student", loaded), ("teacher_plain",
                                                           teacher.named_members_["plain"])],
                                    cv="prefit").fit(X_test, tiny_split[3])
    assert blend.predict(X_test).shape == (len(X_test),)


def test_a_stacking_teacher(tiny_split):
    X, y, X_test, _ = tiny_split
    stacking = StackingEnsemble(tiny_plain_and_separable(), holdout=0.3, random_state=0,
                                final_estimator=LogisticRegression()).fit(X, y)
    student = distill(stacking, X, y, student=tiny_plain(epochs=4))
    assert student.classes_.tolist() == stacking.classes_.tolist()


def test_unlabelled_rows_are_taught_by_the_teacher_alone(teacher, tiny_split):
    X, y, X_test, _ = tiny_split
    # The tiny teacher never predicts class 3, yet gives it probability: the student
    # has the teacher's four classes, not the three its predictions name.
    assert set(teacher.predict(X)) < {0, 1, 2, 3}
    student = distill(teacher, X, student=tiny_plain(epochs=6))
    assert student.classes_.tolist() == [0, 1, 2, 3]
    assert student.predict_proba(X).shape == (len(X), 4)
    # Without labels the student's only target is the teacher: it is closer to the
    # teacher than the same network trained on the labels, also on unseen rows.
    from_labels = tiny_plain(epochs=6).fit(X, y)
    for rows in (X, X_test):
        target = teacher.predict_proba(rows)
        assert kl(target, student.predict_proba(rows)) < kl(target, from_labels.predict_proba(rows))


def test_the_student_follows_the_teacher_more_the_more_it_counts(tiny_split):
    """A teacher that disagrees with the labels pulls a student with weight 1, not with 0."""
    X, y, _, _ = tiny_split

    class Contrarian(ClassifierMixin, BaseEstimator):
        """Any fitted classifier with predict_proba and classes_ can teach."""

        classes_ = np.arange(4)

        def fit(self, X, y):
            return self

        def predict_proba(self, X):
            return np.eye(4)[(np.asarray(y) + 1) % 4]

        def __sklearn_is_fitted__(self):
            return True

    followed = {}
    for weight in (0.0, 1.0):
        student = distill(Contrarian(), X, y, student=tiny_plain(epochs=6),
                          teacher_weight=weight, temperature=1.0)
        followed[weight] = np.mean(student.predict(X) == (y + 1) % 4)
    assert followed[1.0] > 0.6 > 0.2 > followed[0.0]  # chance: 0.25


def test_bad_input_is_a_clear_error(teacher, tiny_split):
    X, y, _, _ = tiny_split
    with pytest.raises(NotFittedError):
        distill(WeightedAverageEnsemble(tiny_plain_and_separable()), X, y)
    with pytest.raises(TypeError, match="student must be a Keras member.*LogisticRegression"):
        distill(teacher, X, y, student=LogisticRegression())
    with pytest.raises(ValueError, match=r"classes the teacher does not predict: \[7\]"):
        distill(teacher, X, np.where(y == 3, 7, y), student=tiny_plain())
    with pytest.raises(ValueError, match="input_shape"):
        distill(teacher, X, y, student=tiny_plain(input_shape=(16, 16, 1)))


def test_a_teacher_without_keras_members_needs_a_student(tiny_split):
    X, y, _, _ = tiny_split
    flat = X.reshape(len(X), -1)
    forest = LogisticRegression(max_iter=50).fit(flat, y)
    with pytest.raises(TypeError, match="no Keras member to copy"):
        distill(forest, flat, y)
    assert isinstance(distill(forest, flat, y, student=SeparableCNNClassifier(
        stem_filters=4, filters=(8,), convs_per_stage=1, epochs=1, validation_fraction=0.0,
        input_shape=(8, 8, 1))), SeparableCNNClassifier)


def test_the_loss_is_registered_for_checkpoints_of_a_taught_fit():
    from members._distillation import DistillationLoss

    assert keras.saving.get_registered_name(DistillationLoss) == "keras_ensembles>DistillationLoss"


def test_a_consistent_teacher_labels_each_augmented_copy(teacher, tiny_split, monkeypatch):
    X, y, X_test, _ = tiny_split
    seen = {}
    fit = PlainCNNClassifier.fit

    def spy(self, X, y, **kwargs):
        seen.update(X=X, teacher_proba=kwargs["teacher_proba"])
        return fit(self, X, y, **kwargs)

    monkeypatch.setattr(PlainCNNClassifier, "fit", spy)
    template = tiny_plain(epochs=4, random_shift=0.25, horizontal_flip=True)
    student = distill(teacher, X, y, student=template, augmented_copies=3, random_state=0)
    # The rows, then three augmented copies, each with the teacher's probabilities for it.
    assert len(seen["X"]) == 4 * len(X)
    np.testing.assert_array_equal(seen["X"][:len(X)], X)
    np.testing.assert_array_equal(seen["X"][len(X):], template.augment(X, 3, random_state=0))
    np.testing.assert_allclose(seen["teacher_proba"], teacher.predict_proba(seen["X"]))
    # The student does not augment again, predicts with the flip it trained on, and takes
    # as many steps as 4 epochs of the rows alone.
    params = student.get_params()
    assert (params["random_shift"], params["horizontal_flip"], params["tta"]) == (0.0, False,
                                                                                "flip")
    assert params["epochs"] == 1 and len(student.history_["loss"]) == 1
    assert student.predict_proba(X_test).shape == (len(X_test), 4)
    with pytest.raises(ValueError, match="augmented_copies"):
        distill(teacher, X, y, student=template, augmented_copies=-1)


def test_the_default_student_leaves_the_members_files_and_hooks_alone(tiny_split, tmp_path):
    X, y, _, _ = tiny_split
    members = [(name, member.set_params(class_weight="balanced"))
               for name, member in tiny_plain_and_separable()]
    teacher = WeightedAverageEnsemble(members, holdout=0.3, random_state=0,
                                      checkpoint_dir=tmp_path / "ckpt").fit(X, y)
    before = {path: path.stat().st_mtime_ns for path in (tmp_path / "ckpt").rglob("*")
              if path.is_file()}
    student = distill(teacher, X, y)
    assert student.checkpoint_dir is None and student.class_weight is None
    after = {path: path.stat().st_mtime_ns for path in (tmp_path / "ckpt").rglob("*")
             if path.is_file()}
    assert after == before
