"""ensemble.datasets.load_image_folder: folders of PNG, JPEG, BMP and GIF files, real files."""

import numpy as np
import pytest
from PIL import Image

from ensemble.datasets import Dataset, load_dataset, load_image_folder


def save(path, pixels, **options):
    """Write ``pixels`` (H, W) grey or (H, W, 3) RGB as an image file named ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path, **options)
    return path


def random_pixels(height, width, channels=None, seed=0):
    shape = (height, width) if channels is None else (height, width, channels)
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


@pytest.fixture
def grey_tree(tmp_path):
    """Two classes of lossless grey 6x5 images: cat (3 files), dog (2 files)."""
    root = tmp_path / "grey"
    pixels = {}
    for index, name in enumerate(["cat/b.png", "cat/a.bmp", "cat/c.PNG", "dog/z.gif", "dog/y.png"]):
        pixels[name] = random_pixels(6, 5, seed=index)
        save(root / name, pixels[name])
    return root, pixels


def test_a_class_folder_tree_gives_images_labels_class_names_and_ids(grey_tree):
    root, pixels = grey_tree
    data = load_image_folder(root)
    assert isinstance(data, Dataset)
    assert data.X.shape == (5, 6, 5, 1) and data.X.dtype == np.uint8
    assert data.ids.tolist() == ["cat/a.bmp", "cat/b.png", "cat/c.PNG", "dog/y.png", "dog/z.gif"]
    assert data.y.tolist() == ["cat", "cat", "cat", "dog", "dog"]
    assert data.classes.tolist() == ["cat", "dog"] and data.class_names == ("cat", "dog")
    for image, name in zip(data.X, data.ids, strict=True):
        np.testing.assert_array_equal(image[..., 0], pixels[name])  # lossless files, exact pixels
    X, y = data  # unpacks as the (X, y) pair
    assert X is data.X and y is data.y and data[0] is data.X


def test_one_colour_file_makes_the_images_rgb_with_grey_files_repeated(grey_tree):
    root, pixels = grey_tree
    colour = random_pixels(6, 5, 3, seed=9)
    save(root / "dog" / "colour.png", colour)
    data = load_image_folder(root)
    assert data.X.shape == (6, 6, 5, 3)
    np.testing.assert_array_equal(data.X[data.ids.tolist().index("dog/colour.png")], colour)
    grey = data.X[data.ids.tolist().index("cat/a.bmp")]
    np.testing.assert_array_equal(grey, np.repeat(pixels["cat/a.bmp"][..., None], 3, axis=2))


def test_colour_mode_can_be_forced_either_way(grey_tree):
    root, _ = grey_tree
    save(root / "dog" / "colour.jpg", random_pixels(6, 5, 3, seed=9), quality=95)
    assert load_image_folder(root, color_mode="grayscale").X.shape == (6, 6, 5, 1)
    assert load_image_folder(root, color_mode="rgb").X.shape == (6, 6, 5, 3)
    with pytest.raises(ValueError, match=r"color_mode must be one of 'auto', 'grayscale', 'rgb'"):
        load_image_folder(root, color_mode="rgba")


def test_palette_files_count_as_grey_only_when_their_colours_are(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    Image.fromarray(random_pixels(4, 4)).convert("P").save(tmp_path / "a" / "grey.gif")
    Image.fromarray(random_pixels(4, 4, seed=1)).save(tmp_path / "b" / "grey.png")
    assert load_image_folder(tmp_path).X.shape[-1] == 1
    Image.fromarray(random_pixels(4, 4, 3)).convert("P").save(tmp_path / "b" / "colour.gif")
    assert load_image_folder(tmp_path).X.shape[-1] == 3


def test_mixed_sizes_are_resized_with_image_size(tmp_path):
    for index, (height, width) in enumerate([(10, 12), (20, 20), (7, 3)]):
        save(tmp_path / "x" / f"{index}.png", random_pixels(height, width, seed=index))
        save(tmp_path / "y" / f"{index}.jpg", random_pixels(height, width, 3, seed=index))
    with pytest.raises(ValueError) as info:
        load_image_folder(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path} holds images of 3 different sizes")
    for size in ("10x12: 2 files, e.g. x/0.png", "20x20: 2 files", "7x3: 2 files"):
        assert size in message
    assert "--image-size HxW" in message and "\n" not in message
    assert load_image_folder(tmp_path, image_size=(8, 16)).X.shape == (6, 8, 16, 3)
    assert load_image_folder(tmp_path, image_size=9).X.shape == (6, 9, 9, 3)


def test_a_constant_image_stays_constant_when_resized(tmp_path):
    save(tmp_path / "a" / "1.png", np.full((30, 40), 77))
    save(tmp_path / "b" / "1.png", np.full((3, 5), 200))
    data = load_image_folder(tmp_path, image_size=(12, 12))
    assert data.X[0].min() == data.X[0].max() == 77
    assert data.X[1].min() == data.X[1].max() == 200


def test_a_flat_folder_is_unlabelled_and_its_file_names_are_the_ids(tmp_path):
    for name in ("3.png", "1.png", "2.jpg", ".hidden.png"):
        save(tmp_path / name, random_pixels(5, 5))
    (tmp_path / "Thumbs.db").write_text("a file Windows leaves in image folders")
    data = load_image_folder(tmp_path)
    assert data.y is None and data.classes is None and data.class_names is None
    assert data.ids.tolist() == ["1.png", "2.jpg", "3.png"]


def test_images_in_sub_folders_of_a_class_folder_belong_to_that_class(tmp_path):
    save(tmp_path / "a" / "day1" / "1.png", random_pixels(4, 4))
    save(tmp_path / "a" / "day2" / "1.png", random_pixels(4, 4))
    save(tmp_path / "b" / "1.png", random_pixels(4, 4))
    (tmp_path / "b" / ".ipynb_checkpoints").mkdir()
    data = load_image_folder(tmp_path)
    assert data.ids.tolist() == ["a/day1/1.png", "a/day2/1.png", "b/1.png"]
    assert data.y.tolist() == ["a", "a", "b"]


def test_sixteen_bit_grey_pngs_are_scaled_to_eight_bits(tmp_path):
    values = np.array([[0, 257, 65535], [32896, 1000, 514]], dtype=np.uint16)
    (tmp_path / "a").mkdir()
    Image.fromarray(values).save(tmp_path / "a" / "deep.png")
    save(tmp_path / "b" / "plain.png", np.zeros((2, 3)))
    data = load_image_folder(tmp_path)
    np.testing.assert_array_equal(data.X[0, ..., 0], [[0, 1, 255], [128, 4, 2]])


def test_one_thread_and_many_read_the_same_pixels(tmp_path):
    for index in range(40):
        save(tmp_path / f"c{index % 3}" / f"{index}.png", random_pixels(8, 8, 3, seed=index))
    one = load_image_folder(tmp_path, n_jobs=1)
    many = load_image_folder(tmp_path, n_jobs=4)
    np.testing.assert_array_equal(one.X, many.X)
    assert one.ids.tolist() == many.ids.tolist()


def test_load_dataset_reads_a_folder_with_its_options(tmp_path):
    save(tmp_path / "a" / "1.png", random_pixels(4, 6))
    save(tmp_path / "b" / "1.png", random_pixels(5, 5))
    (data,) = load_dataset(tmp_path, image_size=(4, 4), color_mode="rgb").values()
    assert data.X.shape == (2, 4, 4, 3)
    with pytest.raises(ValueError, match=r"image_shape does not apply to .* \(an image folder\)"):
        load_dataset(tmp_path, image_shape=(4, 4, 1))


def corrupt_png(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(random_pixels(16, 16)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a valid header, then the data stops


@pytest.mark.parametrize("make, message", [
    (lambda root: root.mkdir(), r"holds no images \(an empty folder\)"),
    (lambda root: (save(root / "a" / "1.png", np.zeros((2, 2))), (root / "b").mkdir()),
     r"class folder .*/b holds no images"),
    (lambda root: save(root / "only" / "1.png", np.zeros((2, 2))),
     r"holds a single class folder, 'only': labelled images need one folder per class"),
    (lambda root: (save(root / "a" / "1.png", np.zeros((2, 2))),
                   save(root / "b" / "1.png", np.zeros((2, 2))),
                   save(root / "x.png", np.zeros((2, 2)))),
     r"holds both files \(x.png, ...\) and class folders"),
    (lambda root: (save(root / "a" / "1.png", np.zeros((2, 2))),
                   save(root / "b" / "1.png", np.zeros((2, 2))),
                   (root / "b" / "notes.txt").write_text("hello")),
     r"/b/notes.txt is not an image file \(expected bmp, gif, jpeg, jpg, png\)"),
    (lambda root: (save(root / "a" / "1.png", np.zeros((2, 2))),
                   save(root / "b" / "1.png", np.zeros((2, 2))),
                   (root / "a" / "fake.jpg").write_text("not a picture")),
     r"/a/fake.jpg is not a readable PNG, JPEG, BMP or GIF image \(cannot identify image file"),
    (lambda root: (save(root / "a" / "1.png", np.zeros((16, 16))),
                   save(root / "b" / "1.png", np.zeros((16, 16))),
                   corrupt_png(root / "a" / "cut.png")),
     r"/a/cut.png is not a readable PNG, JPEG, BMP or GIF image \("),
], ids=["empty", "empty-class", "single-class", "files-beside-classes", "not-an-image",
        "not-decodable", "truncated"])
def test_bad_folders_are_one_line_errors_naming_the_file(tmp_path, make, message):
    root = tmp_path / "images"
    make(root)
    with pytest.raises(ValueError, match=message) as info:
        load_image_folder(root)
    assert "\n" not in str(info.value) and str(root) in str(info.value)


def test_a_missing_folder_or_a_file_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such folder") as info:
        load_image_folder(tmp_path / "nowhere")
    assert isinstance(info.value, ValueError)
    (tmp_path / "file.png").write_text("x")
    with pytest.raises(ValueError, match="is not a folder"):
        load_image_folder(tmp_path / "file.png")
    with pytest.raises(FileNotFoundError, match="No such folder or file: .*photos/tset"):
        load_dataset(tmp_path / "photos" / "tset")  # a misspelt folder
    with pytest.raises(ValueError, match=r"image_size must be an int or a \(height, width\)"):
        load_image_folder(tmp_path, image_size=(0, 3))
