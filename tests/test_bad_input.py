"""Bad input of every kind gets a clear scikit-learn-style error, never a TensorFlow trace.

One table of cases across members, combiners, data loaders and persistence
(plus the command line below it). Every case runs against estimators that
were fitted before, and afterwards checks that they still predict exactly
as they did: a failed call never corrupts a fitted estimator.
"""

import copy
import gzip
import struct
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from ensemble import PredictionBlender, StackingEnsemble, WeightedAverageEnsemble, load, save
from ensemble.cli import main as cli_main
from ensemble.datasets import load_csv, load_image_folder, load_npz, read_idx
from helpers import TINY_TRAINING, build_tiny_mlp, tiny_plain
from members import KerasMemberClassifier


def mlp(**params):
    return KerasMemberClassifier(build_tiny_mlp, **dict(TINY_TRAINING, epochs=3, **params))


@pytest.fixture(scope="module")
def ctx(tiny_images, tmp_path_factory):
    """Fitted estimators, their reference predictions, and damaged files."""
    X, y = tiny_images
    folder = tmp_path_factory.mktemp("bad_input")
    plain = tiny_plain().fit(X, y)
    learned = WeightedAverageEnsemble([("a", mlp()), ("b", mlp(random_state=1))],
                                      holdout=0.3, random_state=0).fit(X, y)
    saved = folder / "model.zip"
    save(plain, saved)
    return SimpleNamespace(
        X=X, y=y, flat=X.reshape(len(X), -1), plain=plain, learned=learned, folder=folder,
        saved=saved,
        reference={"plain": plain.predict_proba(X), "learned": learned.predict_proba(X)},
    )


def with_value(X, value, index=0):
    X = X.astype("float64")
    X.reshape(-1)[index] = value
    return X


def idx_images_file(folder, header_count, n_bytes):
    """An IDX images file that announces ``header_count`` images and holds ``n_bytes`` of pixels."""
    path = folder / "images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(struct.pack(">IIII", 0x803, header_count, 28, 28)
                                   + bytes(n_bytes)))
    return path


def write(folder, name, content):
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def truncated_zip(source, folder):
    data = source.read_bytes()
    return write(folder, "truncated.zip", data[: len(data) // 2])


def image_folder(folder, name, sizes=((8, 8),), classes=("a", "b"), extra=None):
    """A class-folder tree of grey PNG files (one per size per class); ``extra``: {name: bytes}."""
    from PIL import Image

    root = folder / name
    for label in classes:
        for index, size in enumerate(sizes):
            (root / label).mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full(size, 100, dtype=np.uint8)).save(root / label / f"{index}.png")
    for file_name, content in (extra or {}).items():
        write(root, file_name, content)
    if not classes and not extra:
        root.mkdir(parents=True, exist_ok=True)
    return root


def csv_with_header(folder, header, rows=("1,2,3",)):
    return write(folder, "data.csv", header + "\n" + "\n".join(rows) + "\n")


def good_csv_header():
    return "label," + ",".join(f"pixel{i}" for i in range(1, 785))


# (id, call, exception type, message pattern)
CASES = [
    # --------------------------------------------------------------- members
    ("member-nan-in-X-fit", lambda c: c.plain.fit(with_value(c.X, np.nan), c.y),
     ValueError, "Input X contains NaN"),
    ("member-inf-in-X-fit", lambda c: c.plain.fit(with_value(c.X, np.inf), c.y),
     ValueError, "Input X contains infinity"),
    ("member-nan-in-X-predict", lambda c: c.plain.predict_proba(with_value(c.X, np.nan)),
     ValueError, "Input X contains NaN"),
    ("member-wrong-feature-count", lambda c: c.plain.predict(c.flat[:, :10]),
     ValueError, "X has 10 features, but PlainCNNClassifier is expecting 64 features"),
    ("member-wrong-image-shape", lambda c: c.plain.predict(c.X.reshape(len(c.X), 4, 16, 1)),
     ValueError, r"images of shape \(4, 16, 1\), but PlainCNNClassifier was fitted on "
                 r"images of shape \(8, 8, 1\)"),
    ("member-empty-X-fit", lambda c: c.plain.fit(c.X[:0], c.y[:0]),
     ValueError, "0 sample"),
    ("member-empty-X-predict", lambda c: c.plain.predict_proba(c.X[:0]),
     ValueError, "0 sample"),
    ("member-one-sample", lambda c: c.plain.fit(c.X[:1], c.y[:1]),
     ValueError, "only one class"),
    ("member-one-class", lambda c: c.plain.fit(c.X, np.zeros(len(c.y))),
     ValueError, "only one class"),
    ("member-continuous-y", lambda c: c.plain.fit(c.X, np.linspace(0, 1, len(c.y))),
     ValueError, "Unknown label type: continuous"),
    ("member-nan-in-y", lambda c: c.plain.fit(c.X, with_value(c.y, np.nan)),
     ValueError, "Input y contains NaN"),
    ("member-y-2d", lambda c: c.plain.fit(c.X, np.column_stack([c.y, c.y])),
     ValueError, "y should be a 1d array"),
    ("member-length-mismatch", lambda c: c.plain.fit(c.X, c.y[:-1]),
     ValueError, "inconsistent numbers of samples"),
    ("member-strings-in-X", lambda c: c.plain.fit(np.full((4, 64), "pixel"), [0, 1, 0, 1]),
     ValueError, "dtype='numeric' is not compatible with arrays of bytes/strings"),
    ("member-negative-pixels", lambda c: c.plain.predict(with_value(c.X, -1.0)),
     ValueError, r"outside \[0, 255\] \(min -1, max"),
    ("member-huge-pixels", lambda c: c.plain.predict(with_value(c.X, 300.0)),
     ValueError, r"outside \[0, 255\] \(min 0, max 300\)"),
    ("member-1d-X", lambda c: c.plain.predict(c.flat[0]),
     ValueError, "Expected 2D array, got 1D array"),
    ("member-sparse-X", lambda c: c.plain.predict(scipy.sparse.csr_matrix(c.flat)),
     TypeError, "Sparse data was passed"),
    ("member-complex-X", lambda c: c.plain.predict(c.flat.astype(complex)),
     ValueError, "Complex data not supported"),
    ("member-not-fitted", lambda c: clone(c.plain).predict(c.X),
     NotFittedError, "not fitted yet"),
    ("member-bad-setting", lambda c: clone(c.plain).set_params(epochs=0).fit(c.X, c.y),
     ValueError, "epochs must be an int >= 1, got 0"),
    ("member-shift-too-large", lambda c: clone(c.plain).set_params(random_shift=0.5).fit(c.X, c.y),
     ValueError, r"random_shift must be a fraction of the image size in \[0, 0.5\), got 0.5"),
    ("member-flip-not-bool",
     lambda c: clone(c.plain).set_params(horizontal_flip="yes").fit(c.X, c.y),
     TypeError, "horizontal_flip must be True or False, got 'yes'"),
    ("member-augmentation-not-layers",
     lambda c: clone(c.plain).set_params(augmentation=["flip"]).fit(c.X, c.y),
     TypeError, "augmentation must be a list of keras.layers.Layer or None, got an element of "
                "type str"),
    ("member-unknown-tta", lambda c: clone(c.plain).set_params(tta="mirror").fit(c.X, c.y),
     ValueError, "tta must be one of .* got 'mirror'"),
    ("member-unknown-tta-at-predict",
     lambda c: copy.deepcopy(c.plain).set_params(tta="x").predict(c.X),
     ValueError, "tta must be one of .* got 'x'"),
    ("member-unknown-schedule",
     lambda c: clone(c.plain).set_params(lr_schedule="linear").fit(c.X, c.y),
     ValueError, "lr_schedule must be one of .* got 'linear'"),
    ("member-negative-warmup", lambda c: clone(c.plain).set_params(warmup_epochs=-1).fit(c.X, c.y),
     ValueError, r"warmup_epochs must be a number in \[0.0, inf\], got -1"),
    ("member-negative-weight-decay",
     lambda c: clone(c.plain).set_params(weight_decay=-0.1).fit(c.X, c.y),
     ValueError, r"weight_decay must be a number in \[0.0, inf\], got -0.1"),
    ("member-label-smoothing-one",
     lambda c: clone(c.plain).set_params(label_smoothing=1.0).fit(c.X, c.y),
     ValueError, r"label_smoothing must be a number in \[0.0, 1.0\), got 1.0"),
    ("member-precise-bn-not-a-row-count",
     lambda c: clone(c.plain).set_params(precise_bn="yes").fit(c.X, c.y),
     ValueError, "precise_bn must be True, False or a number of rows >= 1, got 'yes'"),
    ("member-precise-bn-zero-rows",
     lambda c: clone(c.plain).set_params(precise_bn=0).fit(c.X, c.y),
     ValueError, "precise_bn must be True, False or a number of rows >= 1, got 0"),
    # ------------------------------------------------------------- combiners
    ("ensemble-shrinkage-above-one",
     lambda c: clone(c.learned).set_params(shrinkage=2).fit(c.X, c.y),
     ValueError, r"shrinkage must be a number in \[0.0, 1.0\], got 2"),
    ("ensemble-one-selection-fold",
     lambda c: clone(c.learned).set_params(selection_folds=1).fit(c.X, c.y),
     ValueError, "selection_folds must be an int >= 2, got 1"),
    ("ensemble-unknown-selection-rule",
     lambda c: clone(c.learned).set_params(selection_rule="best").fit(c.X, c.y),
     ValueError, r"selection_rule must be one of \('one_se', 'min'\), got 'best'"),
    ("stacking-unknown-fallback",
     lambda c: StackingEnsemble([("a", mlp())], fallback="equal").fit(c.X, c.y),
     ValueError, r"fallback must be one of \('best_member', None\), got 'equal'"),
    ("blender-unknown-fallback",
     lambda c: PredictionBlender(fallback="x").fit({"a": np.full((4, 2), 0.5)}, [0, 1, 0, 1]),
     ValueError, "fallback must be 'best_model' or None; got 'x'"),
    ("ensemble-nan-in-X-fit", lambda c: c.learned.fit(with_value(c.X, np.nan), c.y),
     ValueError, "Input X contains NaN"),
    ("ensemble-wrong-feature-count", lambda c: c.learned.predict(c.flat[:, :10]),
     ValueError, "X has 10 features, but WeightedAverageEnsemble is expecting 64 features"),
    ("ensemble-label-only-in-blending-data",
     lambda c: c.learned.fit(c.X, c.y, validation_data=(c.X[:4], [0, 1, 2, 9])),
     ValueError, r"blending data holds labels absent from y: \[9\]"),
    ("ensemble-label-too-rare-to-hold-out",
     lambda c: c.learned.fit(c.X[:101], np.r_[np.zeros(100, int), 1]),
     ValueError, "cannot hold out a stratified blending set"),
    ("ensemble-holdout-too-small", lambda c: clone(c.learned).set_params(holdout=2).fit(c.X, c.y),
     ValueError, "cannot hold out a stratified blending set"),
    ("ensemble-weights-wrong-length",
     lambda c: clone(c.learned).set_params(weighting=[1.0]).fit(c.X, c.y),
     ValueError, "weights has length 1 but there are 2 members"),
    ("ensemble-weights-negative",
     lambda c: clone(c.learned).set_params(weighting=[1.0, -0.5]).fit(c.X, c.y),
     ValueError, "weights must be non-negative; got -0.5 at index 1"),
    ("ensemble-weights-all-zero",
     lambda c: clone(c.learned).set_params(weighting=[0.0, 0.0]).fit(c.X, c.y),
     ValueError, "weights are all zero"),
    ("ensemble-unknown-calibration",
     lambda c: clone(c.learned).set_params(calibration="platt").fit(c.X, c.y),
     ValueError, r"calibration must be one of \('temperature',\) or None, got 'platt'"),
    ("ensemble-unknown-weighting",
     lambda c: clone(c.learned).set_params(weighting="median").fit(c.X, c.y),
     ValueError, "weighting must be one of .* got 'median'"),
    ("ensemble-malformed-validation-data",
     lambda c: c.learned.fit(c.X, c.y, validation_data=c.X[:4]),
     ValueError, r"validation_data must be a tuple \(X_val, y_val\)"),
    ("ensemble-bad-members", lambda c: StackingEnsemble([mlp()]).fit(c.X, c.y),
     TypeError, r"Each member must be a \(name, estimator\) tuple"),
    ("ensemble-not-fitted", lambda c: clone(c.learned).predict_proba(c.X),
     NotFittedError, "not fitted yet"),
    # ----------------------------------------------------------- data loaders
    ("idx-wrong-magic",
     lambda c: read_idx(write(c.folder, "x-idx3-ubyte", b"\0\0\x08\x01" + bytes(8))),
     ValueError, "x-idx3-ubyte"),
    ("idx-truncated", lambda c: read_idx(idx_images_file(c.folder, 3, 2 * 784)),
     ValueError, "images-idx3-ubyte.gz"),
    ("idx-corrupt-gzip", lambda c: read_idx(write(c.folder, "y.gz", b"\x1f\x8bnot gzip")),
     ValueError, "not a valid gzip file"),
    ("npz-not-a-zip", lambda c: load_npz(write(c.folder, "a.npz", b"\x93NUMPY pickled")),
     ValueError, r"a.npz is not an .npz \(zip\) archive"),
    ("npz-truncated", lambda c: load_npz(write(c.folder, "b.npz", b"PK\x03\x04" + bytes(10))),
     ValueError, "b.npz is not a readable .npz archive"),
    ("csv-wrong-columns", lambda c: load_csv(csv_with_header(c.folder, "a,b,c")),
     ValueError, "data.csv"),
    ("csv-not-integers", lambda c: load_csv(csv_with_header(
        c.folder, good_csv_header(), ["1," + ",".join(["x"] * 784)])),
     ValueError, "data.csv"),
    ("csv-missing-file", lambda c: load_csv(c.folder / "nowhere.csv"),
     ValueError, "No such file: .*nowhere.csv"),
    ("npz-directory", lambda c: load_npz(c.folder),
     ValueError, "is a directory; expected an .npz file"),
    ("folder-empty", lambda c: load_image_folder(image_folder(c.folder, "empty", classes=())),
     ValueError, r"empty holds no images \(an empty folder\)"),
    ("folder-corrupt-image", lambda c: load_image_folder(image_folder(
        c.folder, "corrupt", extra={"a/broken.png": b"\x89PNG\r\n\x1a\n broken"})),
     ValueError, r"corrupt/a/broken.png is not a readable PNG, JPEG, BMP or GIF image"),
    ("folder-not-an-image", lambda c: load_image_folder(image_folder(
        c.folder, "notes", extra={"b/notes.txt": "hello"})),
     ValueError, r"notes/b/notes.txt is not an image file"),
    ("folder-mixed-sizes", lambda c: load_image_folder(image_folder(
        c.folder, "mixed", sizes=((8, 8), (9, 7)))),
     ValueError, r"mixed holds images of 2 different sizes \(height x width: 8x8: 2 files, "
                 r"e.g. a/0.png; 9x7: 2 files"),
    ("folder-single-class", lambda c: load_image_folder(image_folder(c.folder, "one", classes="a")),
     ValueError, r"one holds a single class folder, 'a'"),
    ("csv-pixels-and-image-shape", lambda c: load_csv(csv_with_header(
        c.folder, good_csv_header(), ["1," + ",".join(["0"] * 784)]), image_shape=(32, 32, 3)),
     ValueError, r"data.csv has 784 pixel values per image, but the image shape 32x32x3 needs "
                 r"3072"),
    ("csv-pixel-outside-0-255", lambda c: load_csv(csv_with_header(
        c.folder, good_csv_header(), ["1," + ",".join(["0"] * 783 + ["300"])])),
     ValueError, r"data.csv, line 2, column 'pixel784': 300 is outside 0..255"),
    ("member-images-too-small",
     lambda c: clone(c.plain).set_params(filters=(4, 4)).fit(c.X[:, :2, :2], c.y),
     ValueError, r"PlainCNNClassifier can't use 2x2 images: it downsamples them 3 times"),
    # ----------------------------------------------------------- persistence
    ("load-missing-file", lambda c: load(c.folder / "nowhere.zip"),
     ValueError, "No such file"),
    ("load-directory", lambda c: load(c.folder),
     ValueError, "is a directory"),
    ("load-truncated-archive", lambda c: load(truncated_zip(c.saved, c.folder)),
     ValueError, "zip|archive"),
    ("save-unfitted", lambda c: save(clone(c.plain), c.folder / "new.zip"),
     NotFittedError, "not fitted"),
]


@pytest.mark.parametrize("call, error, message",
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_input_gets_a_clear_error(call, error, message, ctx):
    with pytest.raises(error, match=message) as excinfo:
        call(ctx)
    raised_in = str(excinfo.traceback[-1].path)
    assert "tensorflow" not in raised_in and "/keras/" not in raised_in, raised_in
    # Whatever failed, the estimators fitted before are untouched.
    np.testing.assert_array_equal(ctx.plain.predict_proba(ctx.X), ctx.reference["plain"])
    np.testing.assert_array_equal(ctx.learned.predict_proba(ctx.X), ctx.reference["learned"])


def test_the_table_is_large_enough():
    assert len(CASES) >= 30


@pytest.fixture(scope="module")
def cli_files(ctx):
    """Bad data for the command line, in their own folder."""
    folder = ctx.folder / "cli"
    folder.mkdir()
    csv_with_header(folder, "a,b,c")
    truncated_zip(ctx.saved, folder)
    image_folder(folder, "empty", classes=())
    image_folder(folder, "corrupt", extra={"b/broken.jpg": b"\xff\xd8\xff broken"})
    image_folder(folder, "notes", extra={"a/notes.txt": "hello"})
    image_folder(folder, "mixed", sizes=((8, 8), (9, 7)))
    image_folder(folder, "one", classes="a")
    image_folder(folder, "tiny", sizes=((4, 4),) * 6)
    write(folder, "pixels.csv", good_csv_header() + "\n" + "\n".join(
        [f"{k % 2}," + ",".join(["0"] * 784) for k in range(10)]) + "\n")
    write(folder, "range.csv", good_csv_header() + "\n1," + ",".join(["0"] * 783 + ["-5"]) + "\n")
    prediction_files(folder)
    return folder


def prediction_files(folder):
    """OOF and test probability files for `blend`: good ones and one bad file per mistake."""
    oof_rows = {1: "a,0.8,0.1,0.1", 2: "b,0.3,0.6,0.1", 3: "c,0.2,0.2,0.6", 4: "a,0.5,0.25,0.25"}

    def oof(name, rows=oof_rows, header="id,label,a,b,c"):
        write(folder, name, header + "\n" + "".join(f"{i},{row}\n" for i, row in rows.items()))

    oof("good_oof.csv")
    oof("other_oof.csv")
    write(folder, "good_test.csv", "id,a,b,c\n10,0.5,0.25,0.25\n11,0.1,0.1,0.8\n")
    oof("ids_oof.csv", {**{k: v for k, v in oof_rows.items() if k != 3}, 5: "c,0.2,0.2,0.6"})
    oof("class_oof.csv", {i: ",".join(row.split(",")[:3]) for i, row in oof_rows.items()},
        header="id,label,a,b")
    oof("nan_oof.csv", {**oof_rows, 2: "b,nan,0.6,0.4"})
    oof("negative_oof.csv", {**oof_rows, 3: "c,-0.2,0.6,0.6"})
    oof("above_oof.csv", {**oof_rows, 4: "a,1.5,0.0,0.0"})
    oof("sum_oof.csv", {**oof_rows, 2: "b,0.3,0.3,0.1"})
    oof("labels_oof.csv", {**oof_rows, 1: "b,0.8,0.1,0.1"})
    oof("one_oof.csv", {1: oof_rows[1]})
    write(folder, "unlabelled_oof.csv",
          "id,a,b,c\n" + "".join(f"{i},{row.split(',', 1)[1]}\n" for i, row in oof_rows.items()))


@pytest.mark.parametrize("argv, message", [
    (["fit", "--data", "{folder}/nowhere.csv", "--output", "{folder}/m.zip"], "nowhere.csv"),
    (["fit", "--data", "{folder}/data.csv", "--output", "{folder}/m.zip"], "data.csv"),
    (["evaluate", "{folder}/truncated.zip"], "truncated.zip"),
    (["predict", "{folder}/nowhere.zip", "--data", "sample", "--output", "{folder}/p.csv"],
     "nowhere.zip"),
    (["fit", "--data", "{folder}/empty", "--output", "{folder}/m.zip"],
     "empty holds no images"),
    (["fit", "--data", "{folder}/corrupt", "--output", "{folder}/m.zip"],
     "corrupt/b/broken.jpg is not a readable PNG, JPEG, BMP or GIF image"),
    (["cv", "--data", "{folder}/notes", "--out-dir", "{folder}/oof"],
     "notes/a/notes.txt is not an image file"),
    (["fit", "--data", "{folder}/mixed", "--output", "{folder}/m.zip"],
     "mixed holds images of 2 different sizes"),
    (["tune", "--data", "{folder}/one", "--storage", "{folder}/t.db"],
     "one holds a single class folder, 'a'"),
    (["fit", "--data", "{folder}/pixels.csv", "--image-shape", "32x32x3", "--output",
      "{folder}/m.zip"], "pixels.csv has 784 pixel values per image, but the image shape "
                         "32x32x3 needs 3072"),
    (["fit", "--data", "{folder}/range.csv", "--output", "{folder}/m.zip"],
     "range.csv, line 2, column 'pixel784': -5 is outside 0..255"),
    (["fit", "--data", "{folder}/tiny", "--members", "separable,residual", "--epochs", "1",
      "--output", "{folder}/m.zip"],
     "tiny: member 'residual': ResidualNetClassifier can't use 4x4 images"),
    *[(["blend", "--oof", "{folder}/good_oof.csv", "{folder}/" + oof, "--test",
        "{folder}/good_test.csv", "{folder}/good_test.csv", "--output", "{folder}/s.csv",
        "--save-blend", "{folder}/b.json"], message) for oof, message in [
        ("ids_oof.csv", "ids_oof.csv has no row for id 3 of"),
        ("class_oof.csv", "class_oof.csv has no column for class 'c'"),
        ("nan_oof.csv", "nan_oof.csv, line 3, column 'a': nan is not a probability in [0, 1]"),
        ("negative_oof.csv", "negative_oof.csv, line 4, column 'a': -0.2 is not a probability"),
        ("above_oof.csv", "above_oof.csv, line 5, column 'a': 1.5 is not a probability"),
        ("sum_oof.csv", "sum_oof.csv, line 3: the probabilities sum to 0.7"),
        ("labels_oof.csv", "labels_oof.csv, id 1: label 'b' differs from 'a' in"),
    ]],
    (["blend", "--oof", "{folder}/one_oof.csv", "--test", "{folder}/good_test.csv",
      "--output", "{folder}/s.csv"], "one_oof.csv has 1 out-of-fold row(s)"),
    (["blend", "--oof", "{folder}/unlabelled_oof.csv", "--test", "{folder}/good_test.csv",
      "--output", "{folder}/s.csv"], "no labels: {folder}/unlabelled_oof.csv has no 'label'"),
    (["blend", "--oof", "{folder}/good_oof.csv", "{folder}/other_oof.csv", "--test",
      "{folder}/good_test.csv", "--output", "{folder}/s.csv"],
     "other_oof.csv has no test partner"),
], ids=["missing-data", "bad-csv", "truncated-model", "missing-model", "empty-folder",
        "corrupt-image", "not-an-image", "mixed-sizes", "single-class", "pixels-vs-image-shape",
        "pixel-outside-0-255", "images-too-small-for-a-member", "blend-ids-differ",
        "blend-missing-class-column", "blend-nan", "blend-negative", "blend-above-one",
        "blend-rows-not-summing-to-one", "blend-labels-differ", "blend-single-row",
        "blend-no-labels", "blend-oof-without-test"])
def test_command_line_bad_input_is_one_line(argv, message, cli_files, capsys):
    code = cli_main([arg.format(folder=cli_files) for arg in argv])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1 and message.format(folder=cli_files) in err, err
    assert "Traceback" not in err
    for output in ("m.zip", "p.csv", "oof", "t.db", "s.csv", "b.json"):
        assert not (cli_files / output).exists(), f"{output} was written"


def test_a_blend_with_fewer_blending_rows_than_folds_uses_one_fold_per_row(ctx):
    """Not an error but a documented rule (one class in a fold: ensemble/test_selection.py)."""
    n_blend = len(ctx.learned.blend_targets_)
    refit = WeightedAverageEnsemble.from_blend(ctx.learned, selection_folds=n_blend + 10)
    assert refit.selection_folds_ == n_blend
    assert set(refit.selection_scores_) == {"best_member", "equal", "log_loss", "caruana"}
    np.testing.assert_allclose(refit.predict_proba(ctx.X).sum(axis=1), 1.0)
