"""Fixtures of the ensemble.datasets tests: no test here touches the network."""

import pytest

from ensemble.datasets import _fashion_mnist as fashion


@pytest.fixture(autouse=True)
def download_calls(monkeypatch):
    """Replace the download hook: it records the call and fails."""
    calls = []

    def refuse():
        calls.append("download")
        raise ConnectionError("downloads are disabled in tests")

    monkeypatch.setattr(fashion, "_download_full_set", refuse)
    return calls
