"""Folders of image files: one sub-folder per class, or a flat folder of unlabelled images.

The layout of most Kaggle image competitions and of
``keras.utils.image_dataset_from_directory``::

    train/                      test/
        cat/001.png                 1001.jpg
        cat/002.jpg                 1002.jpg
        dog/001.png                 ...
        ...

Decoding is Pillow's, limited to PNG, JPEG, BMP and GIF: those parsers
only, whatever a file's name says. Files are read by a pool of threads
(Pillow decodes without holding the GIL); the images go straight into one
preallocated array.
"""

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ensemble.datasets._dataset import COLOR_MODES, Dataset, check_image_size, format_shape
from members.utils.checks import check_int
from members.utils.paths import MissingFileError, NotAFileError

#: File name endings read as images (compared case-insensitively).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
#: Pillow's names of the formats decoded (its JPEG reader also opens multi-picture JPEGs).
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF")
#: Files operating systems leave in folders; skipped like hidden files (names starting with ".").
SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini"})
#: Pillow modes that hold grey images.
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def load_image_folder(path, image_size=None, color_mode="auto", *, n_jobs=None):
    """Read a folder of PNG, JPEG, BMP or GIF files.

    Parameters
    ----------
    path : str or os.PathLike
        A folder holding one sub-folder per class (the images inside a class
        folder may be in further sub-folders), or only image files (then
        unlabelled). Hidden files and folders (names starting with ``"."``)
        and ``Thumbs.db``/``desktop.ini`` are skipped; any other file that is
        not an image is an error.
    image_size : int or (int, int), default=None
        ``(height, width)`` every image is resized to (bilinear, Pillow's
        antialiased resampling), or one int for square images. ``None``:
        the images must all have one size, which is kept.
    color_mode : {"auto", "grayscale", "rgb"}, default="auto"
        ``"auto"`` gives grey images (one channel) when every file is stored
        grey (Pillow modes 1, L, LA, I, I;16; palette images whose colours
        are all grey), else RGB (three channels; grey files are repeated
        into the three). ``"grayscale"`` and ``"rgb"`` convert every image.
        Transparency is dropped, as ``keras.utils.load_img`` drops it; a GIF
        gives its first frame; 16-bit grey PNGs are scaled to 8 bits.
    n_jobs : int, default=None
        Threads that read files; ``None`` for one per CPU core.

    Returns
    -------
    Dataset
        Unpacks as ``X, y``. ``X``: uint8 of shape (n_images, height, width,
        channels), pixels as stored (no EXIF rotation, as Keras). For a
        class-folder tree, ``y`` holds each image's folder name and
        ``classes``/``class_names`` the sorted folder names; images come in
        that order, files sorted by name. ``ids``: each file's path relative
        to ``path``, with ``/`` separators (``"cat/001.png"``; for a flat
        folder, the file names).

    Raises
    ------
    ValueError
        Naming the file or folder: an empty folder or class folder, a single
        class folder, image files beside class folders, a file that is not
        an image or cannot be decoded, images of different sizes without
        ``image_size`` (the message lists the sizes found).
    FileNotFoundError
        If ``path`` does not exist.

    See Also
    --------
    load_dataset : Load a folder, a CSV or an npz file by name.

    Notes
    -----
    Memory: the images take ``n_images * height * width * channels`` bytes
    (10,000 RGB images of 32x32: 29 MiB; of 96x96: 264 MiB), allocated once;
    besides them each reading thread holds one decoded file at a time. The
    file list and the labels add about 200 bytes per image.

    Examples
    --------
    One sub-folder per class:

    >>> from pathlib import Path
    >>> from PIL import Image
    >>> from ensemble.datasets import load_image_folder
    >>> root = Path("images")
    >>> for label in ("cat", "dog"):
    ...     (root / label).mkdir(parents=True)
    ...     Image.new("RGB", (12, 10)).save(root / label / "001.png")
    >>> data = load_image_folder(root, image_size=8)
    >>> data.X.shape, data.y.tolist(), data.ids.tolist()
    ((2, 8, 8, 3), ['cat', 'dog'], ['cat/001.png', 'dog/001.png'])
    """
    folder = _require_folder(path)
    image_size = check_image_size(image_size)
    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be one of {', '.join(map(repr, COLOR_MODES))}; "
                         f"got {color_mode!r}")
    files, labels, classes = _list_images(folder)
    threads = _thread_count(n_jobs, len(files))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        headers = _run(pool, _read_header, files, threads)
        if color_mode == "auto":
            channels = 1 if all(grey for _, grey in headers) else 3
        else:
            channels = 1 if color_mode == "grayscale" else 3
        if image_size is None:
            image_size = _single_size(folder, files, [size for size, _ in headers])
        X = np.empty((len(files), *image_size, channels), dtype=np.uint8)

        def decode(index):
            X[index] = _decode(files[index], image_size, channels)

        _run(pool, decode, range(len(files)), threads)

    ids = np.array([file.relative_to(folder).as_posix() for file in files])
    if classes is None:
        return Dataset(X=X, ids=ids, source=str(folder))
    return Dataset(X=X, y=np.array(labels), classes=np.array(classes),
                   class_names=tuple(classes), ids=ids, source=str(folder))


def _require_folder(path):
    folder = Path(path)
    if not folder.exists():
        raise MissingFileError(f"No such folder: {folder} (expected a folder of images).")
    if not folder.is_dir():
        raise NotAFileError(f"{folder} is not a folder; expected a folder of images.")
    return folder


def _visible(entries):
    return sorted((entry for entry in entries if not entry.name.startswith(".")
                   and entry.name.lower() not in SYSTEM_FILES), key=lambda entry: entry.name)


def _is_image_name(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _not_an_image(path):
    return ValueError(
        f"{path} is not an image file (expected {', '.join(e[1:] for e in IMAGE_EXTENSIONS)}); "
        "move it out of the image folder"
    )


def _list_images(folder):
    """``(files, labels, classes)``: labels and classes are None for a flat folder."""
    entries = _visible(folder.iterdir())
    sub_folders = [entry for entry in entries if entry.is_dir()]
    files = [entry for entry in entries if not entry.is_dir()]
    if not sub_folders:
        if not files:
            raise ValueError(f"{folder} holds no images (an empty folder)")
        for file in files:
            if not _is_image_name(file.name):
                raise _not_an_image(file)
        return files, None, None
    if files:
        raise ValueError(
            f"{folder} holds both files ({files[0].name}, ...) and class folders "
            f"({sub_folders[0].name}, ...): put every image in a class folder (labelled "
            "images) or none (unlabelled images)"
        )
    if len(sub_folders) == 1:
        raise ValueError(
            f"{folder} holds a single class folder, {sub_folders[0].name!r}: labelled images "
            "need one folder per class and at least two classes (for unlabelled images, put "
            "the files directly in the folder)"
        )
    images, labels = [], []
    for class_folder in sub_folders:
        found = _images_below(class_folder)
        if not found:
            raise ValueError(f"class folder {class_folder} holds no images")
        images += found
        labels += [class_folder.name] * len(found)
    return images, labels, [class_folder.name for class_folder in sub_folders]


def _images_below(folder):
    """Every image file below ``folder``, sorted by path; any other file is an error."""
    found = []
    for entry in _visible(folder.iterdir()):
        if entry.is_dir():
            found += _images_below(entry)
        elif _is_image_name(entry.name):
            found.append(entry)
        else:
            raise _not_an_image(entry)
    return found


def _thread_count(n_jobs, n_files):
    if n_jobs is None:
        n_jobs = os.cpu_count() or 1
    check_int(n_jobs, "n_jobs", minimum=1)
    return max(1, min(n_jobs, n_files))


def _run(pool, function, items, threads):
    """``[function(item) for item in items]`` on the pool; the first error stops the rest."""
    items = list(items)
    if threads == 1:
        return [function(item) for item in items]
    # Contiguous chunks, a few per thread: one task per file would cost more in
    # scheduling than decoding a small image does.
    n_chunks = min(len(items), threads * 4)
    bounds = np.linspace(0, len(items), n_chunks + 1).astype(int)
    futures = [pool.submit(lambda chunk: [function(item) for item in chunk],
                           items[start:stop])
               for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]
    results = []
    try:
        for future in futures:
            results += future.result()
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return results


def _open(path):
    from PIL import Image

    try:
        return Image.open(path, formats=IMAGE_FORMATS)
    except Exception as error:  # noqa: BLE001 - whatever Pillow refuses, the file is unreadable
        raise _unreadable(path, error) from None


def _unreadable(path, error):
    message = " ".join(str(error).split()) or type(error).__name__
    return ValueError(f"{path} is not a readable PNG, JPEG, BMP or GIF image ({message})")


def _read_header(path):
    """``((height, width), is_grey)`` of one file, decoding only palette images."""
    with _open(path) as image:
        try:
            grey = image.mode in GREY_MODES
            if image.mode in ("P", "PA"):
                rgb = np.asarray(image.convert("RGB"))
                grey = bool((rgb[..., 0] == rgb[..., 1]).all()
                            and (rgb[..., 1] == rgb[..., 2]).all())
        except Exception as error:  # noqa: BLE001
            raise _unreadable(path, error) from None
        return (image.height, image.width), grey


def _single_size(folder, files, sizes):
    counts = Counter(sizes)
    if len(counts) == 1:
        return sizes[0]
    example = {}
    for file, size in zip(files, sizes, strict=True):
        example.setdefault(size, file.relative_to(folder).as_posix())
    found = "; ".join(f"{format_shape(size)}: {count} file{'s' if count > 1 else ''}, e.g. "
                      f"{example[size]}" for size, count in counts.most_common())
    raise ValueError(
        f"{folder} holds images of {len(counts)} different sizes (height x width: {found}); "
        "pass image_size=(height, width) (command line: --image-size HxW) to resize them "
        "all to one size"
    )


def _decode(path, image_size, channels):
    """One file as a uint8 array of shape ``(*image_size, channels)``."""
    from PIL import Image

    with _open(path) as image:
        try:
            if image.mode.startswith("I") or image.mode == "F":
                # 16-bit grey: scale to 8 bits (Pillow's convert("L") would clip at 255).
                values = np.asarray(image, dtype=np.float64)
                image = Image.fromarray(np.clip(np.round(values / 257.0), 0, 255).astype(np.uint8))
            image = image.convert("L" if channels == 1 else "RGB")
            height, width = image_size
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(image)
        except Exception as error:  # noqa: BLE001 - truncated or corrupt data
            raise _unreadable(path, error) from None
    return pixels.reshape(height, width, channels)
