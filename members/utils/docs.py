r"""Numpydoc entries written once and spliced into several docstrings.

:func:`with_shared_docs` is the one mechanism: the members' training
parameters (:data:`TRAINING_DOCS`, through :func:`with_training_docs`) and
the combiners' shared parameters (``ensemble.combiners``) both go through
it, so that every class still documents each of its parameters in full
(numpydoc, Sphinx, ``help()``) while the text lives in one place.

Examples
--------
>>> from members.utils.docs import with_shared_docs
>>> @with_shared_docs({"seed": "seed : int, default=None\n    Seeds everything.",
...                    "Attributes": "fitted_ : bool"})
... class Model:
...     '''A model.
...
...     Parameters
...     ----------
...     size : int
...     %(seed)s
...     '''
...     def __init__(self, size, seed=0):
...         pass
>>> print(Model.__doc__)
A model.
<BLANKLINE>
Parameters
----------
size : int
seed : int, default=0
    Seeds everything.
<BLANKLINE>
Attributes
----------
fitted_ : bool
<BLANKLINE>
"""

import inspect
import re
import textwrap

#: The members' training parameters and fitted attributes, in every member
#: class's docstring (each ``default=`` read from that class's ``__init__``).
TRAINING_DOCS = {}

TRAINING_DOCS["Parameters"] = """
    input_shape : tuple of int or None, default=None
        Shape of one sample as the network sees it. None: the shape of the
        images passed to ``fit`` if they are N-d, else the class's guess for
        flat rows (square grey images for the built-in architectures, flat
        vectors for :class:`KerasMemberClassifier`).
    pixel_scale : "auto", float or None
        Factor applied inside the model to its inputs, so that the saved
        model takes raw pixels. "auto" divides raw pixels (all values in
        [0, 255], some above 1) by 255 and leaves other data (standardised,
        already in [0, 1]) unchanged; a model fitted on raw pixels then
        refuses, at prediction, values outside [0, 255] (``ValueError``)
        rather than misreading them. None applies no scaling.
    epochs : int
        Maximum number of passes over the training data.
    time_limit : float or None, default=None
        Seconds ``fit`` may take, from its start to its return (building,
        training, the batch-norm pass). The first epoch is timed, and the
        member then plans the epochs that fit, to the step (at most
        ``epochs``; a remainder of at least a tenth of an epoch trains a
        partial last one; a cosine schedule is planned for that length);
        if later epochs run slower, the plan and its cosine are shortened
        to what still fits. Early stopping, when on, keeps the best epoch.
        ``history_`` then holds each epoch's ``"seconds"`` and the
        ``"planned_epochs"`` (none for a partial last epoch); a resumed fit
        spends only what the interrupted one left. A budget
        that cannot finish one epoch raises ``ValueError`` naming the
        smallest workable one. None: no limit.
    batch_size : int, default=128
    optimizer : {"adam", "rmsprop", "sgd"}, default="adam"
        SGD uses Nesterov momentum 0.9.
    learning_rate : float, default=1e-3
        The starting rate, or with ``lr_schedule="cosine"`` the peak reached
        after the warm-up.
    lr_schedule : {"cosine", "plateau", "constant"}
        ``"cosine"``: a linear warm-up over ``warmup_epochs``, then a half
        cosine down to zero at the last epoch. ``"plateau"``: multiply the
        rate by ``reduce_lr_factor`` after ``reduce_lr_patience`` epochs
        without improvement of the monitored loss. ``"constant"``.
    warmup_epochs : float, default=1.0
        Length of the cosine schedule's warm-up (at most half the epochs).
    weight_decay : float, default=0.0
        Decoupled weight decay: each step shrinks the weights (not the
        batch-norm parameters or biases) by ``learning_rate * weight_decay``
        of themselves; with ``optimizer="adam"`` this is AdamW.
    label_smoothing : float, default=0.0
        Train towards ``1 - label_smoothing`` on the true class and spread
        the rest evenly over the others.
    precise_bn : bool or int, default=True
        After training (and after restoring the best epoch), recompute every
        trainable batch-norm layer's moving mean and variance from the
        training rows: one pass with batch statistics, augmentation and
        dropout off, over up to 10,000 rows (an int: that many). Moving
        averages trail the weights by about a hundred steps, so after a
        short fit on few images a member can otherwise predict far worse
        than it trained ("precise BN", Wu and Johnson 2021). The statistics
        are part of the saved model. Either way the fit measures the
        member's accuracy on those rows in inference mode and with batch
        statistics (``batchnorm_check_``) and warns
        (:class:`members.BatchNormMismatchWarning`) when the first trails
        the second by more than 0.05. No effect on a network without batch
        norm.
    random_shift : float
        Training-time augmentation: shift each image by up to this fraction
        of its height and width (whole pixels, zero-filled border); 0 turns
        it off. Safe for images in general. Images only: flat feature
        vectors get no built-in augmentation.
    horizontal_flip : bool
        Training-time augmentation: mirror half of the images left to
        right. Only for data whose classes look the same mirrored (clothes,
        most photographs), not for digits or text.
    augmentation : list of keras.layers.Layer or None, default=None
        Your own Keras preprocessing layers (e.g.
        ``keras.layers.RandomContrast(0.1)``), applied in training after the
        built-in ones; they are saved in the model, so use built-in or
        registered layers. Every fit works on deep copies.
    tta : {"auto", "none", "flip", "shift", "flip+shift"} or None, default="auto"
        Test-time augmentation: ``predict_proba`` averages the probabilities
        of the image and of its fixed transforms -- its mirror image
        (``"flip"``), its one-pixel shifts up, down, left and right
        (``"shift"``). ``"auto"``: the mirror image when the member trained
        with ``horizontal_flip``, else none. A prediction-time setting: it
        can be changed on a fitted member.
    validation_fraction : float, default=0.1
        Share of the training data held out to watch for early stopping,
        learning-rate reduction and the best checkpoint: rounded up,
        stratified and grown to one row per class when every class has two
        rows or more (small data). 0 disables it; the training loss is
        watched instead.
    early_stopping_patience : int or None, default=3
        Epochs without improvement before training stops; the best epoch's
        weights are restored. None disables early stopping.
    reduce_lr_patience : int or None, default=2
        With ``lr_schedule="plateau"``: epochs without improvement before
        the learning rate is multiplied by ``reduce_lr_factor``. None
        disables it.
    reduce_lr_factor : float, default=0.5
    min_lr : float, default=1e-5
        Floor of the learning rate reduction.
    checkpoint_dir : str, os.PathLike or None, default=None
        Folder for the best-epoch checkpoint (``best.keras``) and a backup
        of the last finished epoch. Re-running an interrupted ``fit`` with
        the same folder, settings and data resumes after the last finished
        epoch; re-running a finished one loads its model instead of
        training. Needs an int ``random_state`` when ``validation_fraction``
        is above 0, so that a re-run validates on the same rows.
    tensorboard_dir : str, os.PathLike or None, default=None
        Folder for TensorBoard logs (scalars every epoch).
    histogram_freq : int, default=0
        Epochs between weight histograms in TensorBoard; 0 for none.
    callbacks : list of keras.callbacks.Callback or None, default=None
        Your own callbacks. Every ``fit`` works on deep copies, so clones
        and refits never share callback state.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, keyed by the original labels.
    random_state : int, RandomState or None, default=None
        Seeds weights, shuffling, dropout and the validation split. The
        same seed gives the same predictions in a fresh process on CPU.
    verbose : int, default=0
        Keras's progress output: 0 silent, 1 progress bar, 2 a line per epoch.
"""

TRAINING_DOCS["Attributes"] = """
    model_ : keras.Model
        The trained network; takes flat raw rows of ``n_features_in_`` values
        (its augmentation layers are active only in training).
    history_ : dict of list
        Per-epoch values (``"epoch"``, ``"loss"``, ``"accuracy"``,
        ``"val_loss"``, ``"val_accuracy"``, ``"learning_rate"``), including
        the epochs of an interrupted fit that this one resumed.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
        Values per sample (``H * W * C`` for images).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Only when ``X`` had string column names.
    input_shape_ : tuple of int
        Shape of one sample as the network sees it.
    pixel_scale_ : float
        Factor the model applies to its inputs.
    batchnorm_check_ : dict or None
        ``batch_statistics_accuracy`` and ``inference_accuracy`` on up to
        10,000 training rows, ``n_rows``, ``n_layers`` and ``updated``
        (whether the statistics were recomputed); None for a network
        without trainable batch-norm layers. Not kept by ``ensemble.save``.
"""


#: numpydoc's order of sections; ``with_shared_docs`` rebuilds a docstring in it.
_SECTION_ORDER = ("Parameters", "Attributes", "Methods", "Returns", "Yields", "Receives",
                  "Other Parameters", "Raises", "Warns", "Warnings", "See Also", "Notes",
                  "References", "Examples")
_PARAMETER_LINE = re.compile(r"^(?P<name>\w+) : (?P<type>.*?)(?:, default=.*)?$")
_PLACEHOLDER = re.compile(r"%\((?P<name>\w+)\)s")


def with_shared_docs(shared):
    """A decorator that splices numpydoc entries written once into a docstring.

    Parameters
    ----------
    shared : dict of str to str
        Numpydoc entries (``name : type`` lines and their indented
        descriptions) by key. A key that names a section (``"Parameters"``,
        ``"Attributes"``) appends its entries to that section, which is
        created when the docstring has none; any other key replaces the
        docstring's ``%(key)s`` lines, where they stand.

    Returns
    -------
    callable
        Rewrites the ``__doc__`` of the class or function it decorates and
        returns it. In the spliced Parameters entries, each ``default=`` is
        read from the signature (a class's ``__init__``), so that classes
        with their own defaults share one text. The sections are written
        back in numpydoc's order, so that ``See Also``, ``Notes`` and
        ``Examples`` stay after the spliced ones (as skorch does for its
        shared docs). A docstring stripped by ``python -OO`` stays None.

    See Also
    --------
    with_training_docs : The members' training parameters.
    """
    def decorate(obj):
        if obj.__doc__ is not None:
            obj.__doc__ = _spliced(obj.__doc__, shared, _signature_defaults(obj))
        return obj

    return decorate


def _spliced(doc, shared, defaults):
    preamble, sections = _doc_sections(doc)
    for title, lines in sections.items():
        spliced = []
        for line in lines:
            placeholder = _PLACEHOLDER.fullmatch(line.strip())
            spliced += (_entries(shared[placeholder["name"]], title, defaults) if placeholder
                        else [line])
        sections[title] = spliced
    for title in _SECTION_ORDER:
        if title in shared:
            sections[title] = (_strip_blank(sections.get(title, []))
                               + _entries(shared[title], title, defaults))
    parts = ["\n".join(_strip_blank(preamble))]
    for title in _SECTION_ORDER:
        if title in sections:
            body = "\n".join(_strip_blank(sections[title]))
            parts.append(f"{title}\n{'-' * len(title)}\n{body}")
    return "\n\n".join(parts) + "\n"


def _entries(text, title, defaults):
    """The lines of shared entries, with ``default=`` from the signature in Parameters."""
    lines = _strip_blank(textwrap.dedent(text).splitlines())
    if title != "Parameters":
        return lines
    entries = []
    for line in lines:
        match = _PARAMETER_LINE.match(line)
        if match and match["name"] in defaults:
            line = (f"{match['name']} : {match['type']}, "
                    f"default={_format_default(defaults[match['name']])}")
        entries.append(line)
    return entries


def _signature_defaults(obj):
    try:
        parameters = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return {}
    return {name: parameter.default for name, parameter in parameters.items()
            if parameter.default is not inspect.Parameter.empty}


def _doc_sections(doc):
    """Split a numpydoc docstring into its preamble and ``{title: lines}``."""
    lines = inspect.cleandoc(doc).splitlines()
    preamble, sections, current = [], {}, None
    index = 0
    while index < len(lines):
        line = lines[index]
        underline = lines[index + 1] if index + 1 < len(lines) else ""
        if line.strip() in _SECTION_ORDER and underline.strip() and set(underline.strip()) == {"-"}:
            current = sections.setdefault(line.strip(), [])
            index += 2
            continue
        (preamble if current is None else current).append(line)
        index += 1
    return preamble, sections


def _strip_blank(lines):
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _format_default(value):
    return f'"{value}"' if isinstance(value, str) else repr(value)


#: Splice the members' training parameters (:data:`TRAINING_DOCS`) into a
#: member class's docstring: after the class's own Parameters and Attributes.
with_training_docs = with_shared_docs(TRAINING_DOCS)
