"""A member taught by a teacher's probabilities: ``fit(X, y, teacher_proba=...)``."""

import keras
import numpy as np
import pytest

from ensemble import load, save
from helpers import EpochLog, epochs_begun, tiny_plain
from members._distillation import DistillationLoss, distillation_targets, tempered

#: A validation split, so that early stopping and the best epoch watch the taught loss.
SETTINGS = dict(epochs=4, validation_fraction=0.2, early_stopping_patience=None)


def swapped(y, n_classes=4):
    """A teacher sure of the wrong class: each label moved to the next one."""
    return np.eye(n_classes)[(y + 1) % n_classes]


# The batch-norm check scores against y, which this member was taught to get wrong.
@pytest.mark.filterwarnings("ignore::members.BatchNormMismatchWarning")
def test_a_member_taught_alone_follows_its_teacher_not_the_labels(tiny_images):
    X, y = tiny_images
    taught = tiny_plain(epochs=6).fit(X, y, teacher_proba=swapped(y), teacher_weight=1.0,
                                      temperature=1.0)
    assert np.mean(taught.predict(X) == (y + 1) % 4) > 0.8
    assert np.mean(taught.predict(X) == y) < 0.2


def test_teacher_weight_zero_trains_as_the_labels_alone_do(tiny_images):
    X, y = tiny_images
    plain = tiny_plain().fit(X, y)
    taught = tiny_plain().fit(X, y, teacher_proba=swapped(y), teacher_weight=0.0)
    np.testing.assert_allclose(taught.predict_proba(X), plain.predict_proba(X), atol=1e-4)


def test_the_loss_is_hintons(tiny_images):
    """w T^2 KL(teacher_T || student_T) + (1 - w) CE(labels, student), computed by hand."""
    rng = np.random.default_rng(0)
    teacher = rng.dirichlet(np.ones(4), size=5)
    student = rng.dirichlet(np.ones(4), size=5)
    labels = np.array([0, 1, 2, 3, 0])
    T, w = 3.0, 0.7
    targets = distillation_targets(labels, teacher, T)
    loss = DistillationLoss(T, w, reduction=None)(targets, student.astype("float32"))
    soft_teacher, soft_student = tempered(teacher, T), tempered(student, T)
    kl = np.sum(soft_teacher * np.log(soft_teacher / soft_student), axis=1)
    ce = -np.log(student[np.arange(5), labels])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss), w * T**2 * kl + (1 - w) * ce,
                               rtol=1e-4)


def test_a_taught_member_is_an_ordinary_member(tiny_images, tmp_path):
    X, y = tiny_images
    teacher = tiny_plain(random_state=1).fit(X, y)
    taught = tiny_plain(**SETTINGS, label_smoothing=0.1).fit(
        X, y, teacher_proba=teacher.predict_proba(X))
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(taught.history_)
    assert 0.0 <= taught.history_["val_accuracy"][-1] <= 1.0
    assert isinstance(taught.model_.loss, keras.losses.CategoricalCrossentropy)
    save(taught, tmp_path / "taught.zip")
    np.testing.assert_allclose(load(tmp_path / "taught.zip").predict_proba(X),
                               taught.predict_proba(X), atol=1e-6)


def test_a_finished_taught_fit_is_loaded_and_another_teacher_retrains(tiny_images, tmp_path):
    X, y = tiny_images
    folder = tmp_path / "ckpt"
    proba = np.full((len(y), 4), 0.1) + 0.6 * np.eye(4)[y]
    first = tiny_plain(**SETTINGS, checkpoint_dir=folder).fit(X, y, teacher_proba=proba)

    log = tmp_path / "again.log"
    again = tiny_plain(**SETTINGS, checkpoint_dir=folder, callbacks=[EpochLog(log)]).fit(
        X, y, teacher_proba=proba)
    assert epochs_begun(log) == []
    np.testing.assert_array_equal(again.predict_proba(X), first.predict_proba(X))

    for change in ({"teacher_proba": swapped(y)}, {"teacher_proba": proba, "temperature": 4.0},
                   {}):  # {}: no teacher at all
        log = tmp_path / f"retrained{len(change)}.log"
        tiny_plain(**SETTINGS, checkpoint_dir=folder, callbacks=[EpochLog(log)]).fit(
            X, y, **change)
        assert epochs_begun(log) == list(range(SETTINGS["epochs"]))


@pytest.mark.parametrize("kwargs, message", [
    ({"teacher_proba": np.ones((3, 4)) / 4}, r"teacher_proba must have shape .*\(200, 4\)"),
    ({"teacher_proba": np.ones((200, 3)) / 3}, r"teacher_proba must have shape"),
    ({"teacher_proba": -np.ones((200, 4))}, "finite probabilities >= 0"),
    ({"teacher_proba": np.zeros((200, 4))}, "row of zeros"),
    ({"teacher_proba": np.ones((200, 4)), "temperature": 0.0}, "temperature"),
    ({"teacher_proba": np.ones((200, 4)), "teacher_weight": 1.5}, "teacher_weight"),
], ids=["rows", "columns", "negative", "zeros", "temperature", "weight"])
def test_bad_teacher_settings_are_clear_errors(tiny_images, kwargs, message):
    X, y = tiny_images
    member = tiny_plain()
    with pytest.raises(ValueError, match=message):
        member.fit(X, y, **kwargs)
    assert not hasattr(member, "model_")


def test_class_weight_with_a_teacher_is_refused(tiny_images):
    X, y = tiny_images
    with pytest.raises(ValueError, match="class_weight cannot be combined with teacher_proba"):
        tiny_plain(class_weight="balanced").fit(X, y, teacher_proba=np.eye(4)[y])


def test_groups_keep_copies_of_one_image_on_one_side_of_the_validation_split(tiny_images):
    from members._wrapper import _split_rows

    _, y = tiny_images
    groups = np.tile(np.arange(len(y)), 3)
    train, validation = _split_rows(np.tile(y, 3), groups, 0.2, 0)
    assert not set(groups[train]) & set(groups[validation])
    assert len(validation) == 3 * 40  # 20 % of the 200 images, each with its copies
    alone_train, alone_validation = _split_rows(y, None, 0.2, 0)
    # The same images validate as without copies.
    assert set(groups[validation]) == set(alone_validation)
    with pytest.raises(ValueError, match="groups must have one entry per row"):
        tiny_plain().fit(*tiny_images, groups=groups[:10])


def test_classes_must_be_sorted_as_the_teachers_columns_are(tiny_images):
    X, y = tiny_images
    with pytest.raises(ValueError, match="classes must be sorted"):
        tiny_plain().fit(X, y, teacher_proba=np.eye(4)[y], classes=[3, 2, 1, 0])
    with pytest.raises(ValueError, match="not in classes"):
        tiny_plain().fit(X, y, teacher_proba=np.eye(4)[y][:, :3], classes=[0, 1, 2])
