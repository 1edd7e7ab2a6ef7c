"""The archive itself: entries, their hashes, the format, atomic writing and verified reading."""

import hashlib
import importlib.metadata
import json
import os
import re
import zipfile
from collections import Counter
from pathlib import Path

from ensemble.persistence._values import expect
from members.utils.files import atomic_write
from members.utils.paths import require_file

FORMAT_NAME = "keras-ensembles"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FINAL_ESTIMATOR_FILE = "final_estimator.skops"
BLEND_FILE = "blend.npz"
#: The manifest is read into memory and parsed before anything else.
MAX_MANIFEST_BYTES = 16 * 2**20
#: More entries than any archive ``save`` writes for a sane number of members.
MAX_ENTRIES = 10_000
_MEMBER_FILE = re.compile(r"members/(0|[1-9][0-9]{0,5})\.keras")
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def write_archive(path, files, manifest_bytes, overwrite):
    """Write the zip atomically: a crash never leaves a half-written archive."""
    with atomic_write(path, overwrite=overwrite) as raw:
        with zipfile.ZipFile(raw, "w") as archive:
            for name, data in files.items():
                _write_entry(archive, name, data)
            _write_entry(archive, MANIFEST, manifest_bytes)


def _write_entry(archive, name, data):
    info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def read_verified(path):
    """The manifest and the verified bytes of every entry, or an error."""
    path = local_path(path, "load")
    require_file(path, "a keras-ensembles archive (one .zip file)")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OverflowError,
            NotImplementedError) as error:
        raise ValueError(
            f"{str(path)!r} is not a keras-ensembles archive (not a valid zip file: {error})."
        ) from None
    with archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if len(names) > MAX_ENTRIES:
            raise ValueError(f"The archive holds {len(names)} entries, more than {MAX_ENTRIES}.")
        for name in names:
            _check_entry_name(name)
        duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
        if duplicates:
            raise ValueError(f"The archive holds duplicate entries {duplicates}.")
        if MANIFEST not in names:
            raise ValueError(f"The archive has no {MANIFEST}: not a keras-ensembles archive.")
        if archive.getinfo(MANIFEST).file_size > MAX_MANIFEST_BYTES:
            raise ValueError(f"{MANIFEST} is larger than {MAX_MANIFEST_BYTES} bytes.")
        try:
            manifest = json.loads(_read_entry(archive, MANIFEST).decode("utf-8"))
        except (ValueError, RecursionError) as error:  # bad UTF-8, bad JSON, huge ints
            raise ValueError(f"{MANIFEST} is not valid JSON: {error}") from None
        _check_format(manifest)
        hashes = manifest["files"]
        for name in names:
            if name != MANIFEST and name not in hashes:
                raise ValueError(f"The archive holds an unexpected entry {name!r}.")
        for name in hashes:
            _check_entry_name(name)
            if name not in names:
                raise ValueError(f"The archive lacks the entry {name!r} its manifest lists.")
        contents = {}
        for name, expected in hashes.items():
            data = _read_entry(archive, name)
            if sha256(data) != expected:
                raise ValueError(
                    f"SHA-256 mismatch for {name!r}: the entry is corrupt or was tampered with."
                )
            contents[name] = data
    return manifest, contents


def _read_entry(archive, name):
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError) as error:
        raise ValueError(f"Can't read {name!r} from the archive (corrupt zip): {error}") from None


def _check_entry_name(name):
    if (not isinstance(name, str) or not name or name.startswith(("/", "\\"))
            or "\\" in name or "\x00" in name or re.match(r"^[A-Za-z]:", name)
            or any(part in ("..", ".", "") for part in name.split("/"))):
        raise ValueError(f"The archive entry {name!r} escapes the archive (unsafe name).")
    if not (name in (MANIFEST, FINAL_ESTIMATOR_FILE, BLEND_FILE) or _MEMBER_FILE.fullmatch(name)):
        raise ValueError(f"The archive holds an unexpected entry {name!r}.")


def _check_format(manifest):
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ValueError(f"Not a {FORMAT_NAME} archive (the manifest names another format).")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ValueError(
            f"Unsupported {FORMAT_NAME} format_version {version!r}; this library reads "
            f"version {FORMAT_VERSION}."
        )
    files = manifest.get("files")
    expect(isinstance(files, dict) and all(
        isinstance(name, str) and isinstance(digest, str)
        and re.fullmatch(r"[0-9a-f]{64}", digest) for name, digest in files.items()
    ), "'files' must map entry names to SHA-256 hex digests")
    expect(MANIFEST not in files, f"'files' must not list {MANIFEST}")
    expect(isinstance(manifest.get("estimator"), dict), "'estimator' must be an object")


# ------------------------------------------------------------------------ helpers
def local_path(path, action):
    try:
        text = os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}.") from None
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if "://" in text:
        raise ValueError(
            f"Can't {action} {text!r}: only local files are supported; download remote "
            "archives yourself (from a source you trust) and pass the local path."
        )
    if Path(text).suffix.lower() in (".h5", ".hdf5"):
        raise ValueError(
            f"Can't {action} {text!r}: HDF5 (.h5/.hdf5) files are not accepted; only the "
            f"{FORMAT_NAME} zip archive, built on Keras's .keras format, is."
        )
    return Path(text)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def library_version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
