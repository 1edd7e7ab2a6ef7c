"""Doctests of members/ and ensemble/ run in a fresh temporary folder each.

The examples in the docstrings write files the way a user would, by name in
the current folder ("train.csv", "member.zip"); under pytest that folder is
a temporary one, so that the checkout stays clean and examples never share
files.
"""

import pytest


@pytest.fixture(autouse=True)
def _doctests_in_a_temporary_folder(request):
    if type(request.node).__name__ == "DoctestItem":
        request.getfixturevalue("monkeypatch").chdir(request.getfixturevalue("tmp_path"))
