"""members.utils.files: atomic writes that keep permissions.

On request, they never replace a file.
"""

import os
import stat

import pytest

from members.utils.files import atomic_write_bytes, atomic_write_folder


def test_overwrite_false_refuses_an_existing_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.csv"
    path.write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="already exists"):
        atomic_write_bytes(path, b"new", overwrite=False)
    assert path.read_bytes() == b"mine"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_overwrite_true_replaces_and_keeps_the_old_permissions(tmp_path):
    path = tmp_path / "out.csv"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_new_file_gets_the_umask_permissions_not_owner_only(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "new.csv", b"x", overwrite=False)
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o644


def fill(text):
    def write(folder):
        folder.mkdir()
        (folder / "content.txt").write_text(text)
    return write


def test_a_folder_appears_whole_and_an_existing_one_is_kept_unless_replaced(tmp_path):
    target = tmp_path / "export"
    atomic_write_folder(target, fill("first"))
    assert (target / "content.txt").read_text() == "first"
    with pytest.raises(FileExistsError, match="already exists"):
        atomic_write_folder(target, fill("second"))
    atomic_write_folder(target, fill("third"), overwrite=True)
    assert (target / "content.txt").read_text() == "third"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_a_failing_writer_leaves_the_old_folder_and_no_temporary_one(tmp_path):
    target = tmp_path / "export"
    atomic_write_folder(target, fill("kept"))

    def broken(folder):
        folder.mkdir()
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write_folder(target, broken, overwrite=True)
    assert (target / "content.txt").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_a_folder_that_appears_while_writing_is_never_replaced_without_overwrite(tmp_path):
    target = tmp_path / "export"

    def racing(folder):
        fill("someone else's")(target)  # another process got there first
        fill("ours")(folder)

    with pytest.raises(FileExistsError, match="already exists"):
        atomic_write_folder(target, racing)
    assert (target / "content.txt").read_text() == "someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]
