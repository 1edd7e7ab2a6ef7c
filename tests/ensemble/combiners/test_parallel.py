"""Members trained in parallel: joblib processes and a Dask cluster give the sequential result."""

import os

import keras
import numpy as np
import pytest

from ensemble import WeightedAverageEnsemble
from helpers import TINY_TRAINING, build_tiny_mlp, tiny_plain
from members import KerasMemberClassifier


class RecordProcess(keras.callbacks.Callback):
    """Appends the id of the process that trains to a file."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_train_begin(self, logs=None):
        with open(self.path, "a") as file:
            file.write(f"{os.getpid()}\n")


def seeded_ensemble(n_jobs, record=None):
    callbacks = None if record is None else [RecordProcess(str(record))]
    members = [
        ("mlp", KerasMemberClassifier(build_tiny_mlp, callbacks=callbacks,
                                      **dict(TINY_TRAINING, epochs=3))),
        ("plain", tiny_plain(epochs=3, random_state=1, callbacks=callbacks)),
    ]
    return WeightedAverageEnsemble(members, holdout=0.25, n_jobs=n_jobs, random_state=0)


@pytest.fixture(scope="module")
def sequential(tiny_images):
    X, y = tiny_images
    ensemble = seeded_ensemble(n_jobs=1).fit(X, y)
    return ensemble, ensemble.predict_proba(X)


@pytest.mark.slow
def test_joblib_processes_give_the_sequential_predictions(tiny_images, sequential):
    X, y = tiny_images
    parallel = seeded_ensemble(n_jobs=2).fit(X, y)
    np.testing.assert_allclose(parallel.predict_proba(X), sequential[1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(parallel.weights_, sequential[0].weights_, atol=1e-6)


@pytest.mark.slow
def test_dask_cluster_gives_the_sequential_predictions(tiny_images, sequential, tmp_path):
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    X, y = tiny_images
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client, parallel_config(backend="dask"):
        on_dask = seeded_ensemble(n_jobs=2, record=tmp_path / "pids").fit(X, y)
        worker_pids = set(client.run(os.getpid).values())
    # The fits really ran in the cluster's worker processes.
    trained_in = {int(pid) for pid in (tmp_path / "pids").read_text().split()}
    assert trained_in and trained_in <= worker_pids and os.getpid() not in trained_in
    np.testing.assert_allclose(on_dask.predict_proba(X), sequential[1], rtol=0, atol=1e-6)
