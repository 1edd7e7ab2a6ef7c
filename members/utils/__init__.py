"""Developer utilities: the one home of what ``members`` and ``ensemble`` share.

Like ``sklearn.utils``: helpers the project's packages share, importable by
name (``from members.utils.checks import check_int``) and documented, for
anyone extending the toolkit. ``ensemble`` imports the public names of
``members`` (the classifiers, ``check_image_size``) and, for everything else
it needs from ``members``, only the modules below. Nothing here imports
TensorFlow at import time, so ``ensemble`` code that runs without a network
(blending prediction files, reading data, tuning a scikit-learn model) stays
free of it.

Modules
-------
checks
    ``is_int``, ``is_real``, ``check_int``, ``check_real``: argument checks
    with scikit-learn's wording.
seeds
    ``seed_from`` (a ``random_state`` as one int) and ``seeded`` (Keras
    seeded for one fit, the caller's generators restored).
files
    ``atomic_write`` and friends: every file a user keeps is written through
    a temporary file and a rename; Keras models to and from bytes.
paths
    ``require_file`` and the errors it raises (``MissingFileError``,
    ``NotAFileError``): both an ``OSError`` and a ``ValueError``.
lazy
    ``lazy_attributes``: package attributes imported on first use (PEP 562).
inputs
    Flat rows and image shapes: ``flatten_images``, ``resolve_input_shape``.
splits
    Stratified splits that keep every class on both sides, and the member's
    validation split.
tta
    ``resolve_tta`` and ``transform_batch``: the fixed test-time transforms
    (mirror image, one-pixel shifts) a member averages.
prediction
    ``predict_in_batches``: a fitted network's probabilities, batch by batch,
    averaged over test-time transforms.
fingerprints
    ``stable_repr``: parameter texts that are the same in every process, for
    resuming a checkpointed fit or a tuning study.
kinds
    ``KerasMember`` and ``is_keras_member``: recognising a member without
    importing the member classes.
labels
    ``label_indices`` and ``as_classes``: labels to column positions, with
    an error that names the unknown labels.
layers
    ``leaf_layers``: a Keras network's layers, nested models walked.
quiet
    ``import_keras_quietly``: Keras imported with TensorFlow's C++ start-up
    lines kept off the terminal.
docs
    ``with_shared_docs``: numpydoc entries written once and spliced into
    several docstrings (``with_training_docs``: the members' training
    parameters).
params
    ``set_init_params``: an ``__init__`` stores its arguments as scikit-learn
    expects, each parameter written once, in the signature.
uncertainty
    ``entropy`` and ``decompose_uncertainty``: a weighted average's total
    uncertainty split into the members' expected entropy and their
    disagreement (mutual information).

What it may import
------------------
NumPy, SciPy, scikit-learn and the standard library; nothing else of the
project (it is the bottom layer). Keras only inside functions that need it.

Developer API: names here may change between minor releases (say so in
the changelog when they do).
"""
