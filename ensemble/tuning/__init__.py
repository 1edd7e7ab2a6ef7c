"""Bayesian hyper-parameter search for members and combiners, with Optuna.

:class:`BayesSearchCV` searches any estimator's parameters (a member's, or a
combiner's members' through nested names such as ``plain__learning_rate``),
prunes hopeless trials from inside the Keras epoch loop, keeps its study in
memory or in a database that several processes or machines share, and logs
trials to TensorBoard's HParams dashboard. :mod:`ensemble.tuning.spaces`
holds the preset search spaces of the built-in members and reads spaces
from JSON files.

The names below are imported on first use (PEP 562), so that the command
line reads and checks a search space without importing scikit-learn; no
name here imports TensorFlow until a Keras member is searched (or trials
are logged to TensorBoard).

What lives here, and what it may import
---------------------------------------
``_search`` (``BayesSearchCV``), ``_trials`` and ``_runner`` (running
trials, in parallel processes too), ``_slots`` (which worker runs which of
the ``n_trials``), ``_storage`` (storages, and the heartbeats that give a
killed worker's trials back), ``_samplers`` (samplers and pruners),
``_pruning`` (pruning inside the epoch loop), ``_fingerprints`` (what a
resumable study searches, checked on resume), ``_results`` and
``_search_report`` (what a search found), ``_tensorboard``; and two public
modules: ``spaces`` (search spaces) and ``studies`` (the checks and names a
program needs to look at a stored study before resuming it, as the command
line does). It imports Optuna (public API only), ``members``,
``members.utils``, ``ensemble.combiners`` and ``ensemble.evaluation``; never
the command line.
"""

from members.utils.lazy import lazy_attributes

__getattr__, __dir__, __all__ = lazy_attributes(__name__, {
    "._search": ("BayesSearchCV",),
    "._search_report": ("SearchReport",),
    "._storage": ("study_storage",),
    ".spaces": ("default_search_space", "load_search_space", "parse_search_space"),
})
