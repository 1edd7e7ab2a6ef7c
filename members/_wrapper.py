"""The one scikit-learn wrapper around a Keras network builder."""

import os
import shutil
import warnings

import keras
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import Bunch
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from members import (
    _augment,
    _batchnorm,
    _budget,
    _checkpoints,
    _distillation,
    _sizes,
    _training,
)
from members.utils import budget
from members.utils.checks import check_int, check_real, is_int
from members.utils.docs import with_training_docs
from members.utils.files import keras_model_from_bytes, keras_model_to_bytes
from members.utils.inputs import (
    MAX_PIXEL,
    flatten_images,
    resolve_input_shape,
    resolve_pixel_scale,
)
from members.utils.kinds import KerasMember
from members.utils.params import set_init_params
from members.utils.prediction import predict_in_batches
from members.utils.seeds import seed_from, seeded
from members.utils.splits import validation_split
from members.utils.tta import resolve_tta
from members.utils.uncertainty import decompose_uncertainty

#: Training rows the batch-norm statistics are recomputed from (``precise_bn=True``):
#: Wu and Johnson found 10^3-10^4 samples enough for precise statistics.
PRECISE_BN_ROWS = 10_000
#: A member whose inference accuracy on its training rows trails its accuracy with
#: batch statistics by more than this warns (BatchNormMismatchWarning).
BATCHNORM_WARNING_GAP = 0.05
#: ``fit(..., teacher_proba=...)``'s defaults, the best measured on Fashion-MNIST with
#: both teachers tried (BENCHMARKS.md, "A distilled student"): the labels keep half
#: of the loss, because a teacher is wrong on some of its own training rows (4.7 % for
#: three plain seeds) and a student that follows it there learns its mistakes
#: (teacher weight 0.9: -0.0034 accuracy; 0.5: +0.0005); softening (T = 2, 4) did not
#: help at either weight.
DISTILLATION_TEMPERATURE = 1.0
DISTILLATION_TEACHER_WEIGHT = 0.5


class BatchNormMismatchWarning(UserWarning):
    """A member predicts its training rows far worse in inference mode than it trained.

    Its batch-norm moving statistics do not describe its weights; see the
    members' ``precise_bn`` parameter.
    """


@with_training_docs
class MemberClassifierBase(ClassifierMixin, KerasMember, BaseEstimator):
    """What every member shares: the scikit-learn contract and the training loop.

    Subclasses name a builder (``_builder``) and may guess image shapes
    (``_guess_input_shape``); their ``__init__`` lists the training
    parameters explicitly so that ``get_params`` and ``clone`` see them.
    The parameters below are those training parameters, with the defaults
    of this base class (each architecture has its own).

    See Also
    --------
    KerasMemberClassifier : A member around your own build function.
    PlainCNNClassifier, SeparableCNNClassifier, ResidualNetClassifier : The built-in architectures.

    Examples
    --------
    >>> from members import MemberClassifierBase, PlainCNNClassifier
    >>> isinstance(PlainCNNClassifier(), MemberClassifierBase)
    True
    """

    def __init__(
        self,
        *,
        input_shape=None,
        pixel_scale=None,
        random_shift=0.0,
        horizontal_flip=False,
        augmentation=None,
        tta="auto",
        epochs=10,
        time_limit=None,
        batch_size=128,
        optimizer="adam",
        learning_rate=1e-3,
        lr_schedule="plateau",
        warmup_epochs=1.0,
        weight_decay=0.0,
        label_smoothing=0.0,
        precise_bn=True,
        validation_fraction=0.1,
        early_stopping_patience=3,
        reduce_lr_patience=2,
        reduce_lr_factor=0.5,
        min_lr=1e-5,
        checkpoint_dir=None,
        tensorboard_dir=None,
        histogram_freq=0,
        callbacks=None,
        class_weight=None,
        random_state=None,
        verbose=0,
    ):
        set_init_params(self, locals())

    # ------------------------------------------------------------ what subclasses name
    def _builder(self):
        """The build function and its keyword arguments."""
        raise NotImplementedError

    def _guess_input_shape(self, n_features):
        """Shape of one flat row when neither ``input_shape`` nor images say it."""
        return (n_features,)

    # ------------------------------------------------------------------------- fit
    def fit(self, X, y, *, teacher_proba=None, temperature=DISTILLATION_TEMPERATURE,
            teacher_weight=DISTILLATION_TEACHER_WEIGHT, classes=None, groups=None):
        """Train the network on ``X``, ``y``, optionally taught by a teacher's probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])
            Raw pixels (uint8 or float) or any numeric features.
        y : array-like of shape (n_samples,)
            Class labels of any type scikit-learn accepts.
        teacher_proba : array-like of shape (n_samples, n_classes), default=None
            Knowledge distillation: another model's probabilities for ``X``
            (one column per class of ``y``, in sorted order, as a fitted
            classifier's ``predict_proba`` returns them). The member then
            learns from them as well as from ``y`` (Hinton et al. 2015):
            ``teacher_weight * T**2 * KL(teacher_T || member_T) + (1 -
            teacher_weight) * cross-entropy(y, member)``, both softened by
            the ``temperature`` T. Augmentation, validation split, early
            stopping and checkpoints work as without a teacher, on this
            loss; the fitted member is an ordinary one. None: train on
            ``y`` alone. :func:`ensemble.export.distillation.distill` makes the
            teacher's probabilities from a fitted ensemble.
        temperature : float, default=1.0
            Softens both distributions in the teacher's term (> 0).
            Used only with ``teacher_proba``.
        teacher_weight : float, default=0.5
            Share of the teacher's term in the loss, in [0, 1]. Used only
            with ``teacher_proba``.
        classes : array-like of shape (n_classes,), default=None
            The classes of ``teacher_proba``'s columns, sorted, when ``y``
            may lack some (unlabelled rows labelled by the teacher's
            predictions, which may never name a class it still gives
            probability to). None: the classes in ``y``. Used only with
            ``teacher_proba``.
        groups : array-like of shape (n_samples,), default=None
            Rows of one group stay on one side of the validation split
            (augmented copies of one image, so that none of them validates
            the others); the split is drawn over the groups, stratified by
            the label of each group's first row. None: every row alone.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        fitted_state = dict(self.__dict__)
        try:
            teacher = None
            if teacher_proba is not None:
                check_real(temperature, "temperature", low=0.0, low_open=True)
                check_real(teacher_weight, "teacher_weight", low=0.0, high=1.0)
                teacher = Bunch(proba=teacher_proba, temperature=float(temperature),
                                weight=float(teacher_weight), classes=classes)
            return self._fit(X, y, teacher, groups)
        except BaseException:
            # A failed fit leaves a previously fitted estimator as it was.
            self.__dict__.clear()
            self.__dict__.update(fitted_state)
            raise

    def _fit(self, X, y, teacher=None, groups=None):
        # A time budget counts from here: validation, splitting and building are in it.
        fit_start = budget.clock()
        self._drop_planned_schedule()
        self._check_training_params()
        if teacher is not None and self.class_weight is not None:
            raise ValueError(
                "class_weight cannot be combined with teacher_proba: the teacher's "
                "probabilities already say how much each class counts. Fit with "
                "class_weight=None."
            )
        X, image_shape = flatten_images(X)
        X, y = validate_data(self, X, y, dtype="numeric", ensure_min_samples=1)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y if teacher is None or teacher.classes is None
                                     else _teacher_classes(teacher.classes, y))
        if len(encoder.classes_) < 2:
            raise ValueError(
                "Classifier can't train when only one class is present: y holds the single "
                f"class {encoder.classes_[0]!r}."
            )
        y_encoded = encoder.transform(y)
        targets = self._targets(y_encoded, len(encoder.classes_), teacher)
        input_shape = resolve_input_shape(
            self.input_shape, image_shape, self.n_features_in_, self._guess_input_shape
        )
        pixel_scale = resolve_pixel_scale(self.pixel_scale, X)
        class_weight = self._encoded_class_weight(encoder.classes_, y)
        seed = seed_from(self.random_state)

        with _training.keras_session(), seeded(seed):
            # Split row numbers, so that the targets (which may be 2-d) follow their rows.
            train_rows, validation_rows = _split_rows(y_encoded, groups,
                                                      self.validation_fraction, seed)
            X_train, y_train = X[train_rows], targets[train_rows]
            validation = (None if validation_rows is None
                          else (X[validation_rows], targets[validation_rows]))
            checkpoint = _checkpoints.checkpoint_for(
                self, X_train, y_encoded[train_rows],
                None if validation is None else (validation[0], y_encoded[validation_rows]),
                input_shape, pixel_scale, teacher=self._teacher_fingerprint(teacher, targets))
            finished = None if checkpoint is None else checkpoint.folder.finished(checkpoint.final)
            steps_per_epoch = -(-len(y_train) // self.batch_size)
            if finished is not None:
                # This very fit already ran to the end: load it, train nothing.
                model, epoch_logs = finished
            else:
                # Images are checked for size; flat rows, whose shape is only guessed, are not.
                images = image_shape is not None or self.input_shape is not None
                model = self.compiled_model(input_shape, len(encoder.classes_), pixel_scale,
                                             steps_per_epoch, seed, images=images)
                if teacher is not None:
                    self._compile(model, steps_per_epoch, teacher)
                epoch_logs = self._train(model, X_train, y_train, validation, class_weight,
                                         checkpoint, fit_start)
            if finished is not None or teacher is not None:
                # The ordinary loss (a taught member is an ordinary member; a model
                # loaded from a checkpoint has none).
                self._compile(model, steps_per_epoch)
            if finished is not None or not self._recomputes_batchnorm():
                # Nothing to recompute (a finished fit was saved with its statistics
                # recomputed, or precise_bn=False): only measure, and warn on a mismatch.
                self.batchnorm_check_ = self._match_batchnorm(
                    model, X_train, _distillation.labels_of(y_train, len(encoder.classes_)),
                    update=False)

        self.classes_ = encoder.classes_
        self._fit_image_shape = image_shape
        self.input_shape_ = input_shape
        self.pixel_scale_ = pixel_scale
        self.model_ = model
        self.history_ = _training.history_as_lists(epoch_logs)
        self._drop_planned_schedule()
        return self

    def _drop_planned_schedule(self):
        # Set by _compile for the fit that follows it; never carried into another.
        self.__dict__.pop("_planned_schedule", None)

    @staticmethod
    def _teacher_fingerprint(teacher, targets):
        """What a checkpoint must match besides the data: the teacher's targets and settings."""
        if teacher is None:
            return None
        return {"temperature": teacher.temperature, "teacher_weight": teacher.weight,
                "targets_sha256": _checkpoints.data_digest(targets)}

    def _train(self, model, X, y, validation, class_weight, checkpoint, fit_start=None):
        """Run ``model.fit`` with the configured callbacks; return per-epoch logs.

        ``y`` and the validation targets are what :meth:`_targets` made.
        """
        monitor = "val_loss" if validation is not None else "loss"
        if validation is not None and class_weight is not None:
            # Weigh the validation loss like the training loss, so that early
            # stopping and the best checkpoint watch the objective being trained.
            y_val = _distillation.labels_of(validation[1], model.output_shape[-1])
            validation += (np.array([class_weight[label] for label in y_val]),)
        if checkpoint is None:
            return self._run_fit(model, X, y, validation, class_weight, None, monitor,
                                 fit_start)
        with checkpoint.folder.locked():
            return self._run_fit(model, X, y, validation, class_weight, checkpoint, monitor,
                                 fit_start)

    def _run_fit(self, model, X, y, validation, class_weight, checkpoint, monitor,
                 fit_start=None):
        """``model.fit``, resumed from and recorded in the checkpoint folder when there is one."""
        folder = None if checkpoint is None else checkpoint.folder
        state = None if folder is None else folder.prepare(checkpoint.run)
        previous_logs = [] if state is None else state["history"]
        callbacks = self._callbacks(monitor, folder, previous_logs)
        timer = self._time_budget(fit_start, previous_logs, len(X))
        if timer is not None:
            # First: it writes each epoch's seconds and the plan into the logs
            # that the log writer records.
            callbacks.insert(0, timer)
        if state is not None:
            _checkpoints.restore_backup(model, folder.backup, state)
        X = np.asarray(X, dtype="float32")
        _training.build_training_state(model, X, y)
        # A resumed budgeted fit ends where its plan said (even if it was
        # killed after its last epoch, before it was recorded as finished).
        last_epoch = (self.epochs if timer is None or timer.planned is None
                      else _budget.epochs_to_run(timer.planned))
        if timer is not None and previous_logs and not timer.room_for_another_epoch(previous_logs):
            last_epoch = len(previous_logs)
        model.fit(
            X,
            y,
            validation_data=validation,
            epochs=min(self.epochs, last_epoch),
            initial_epoch=len(previous_logs),
            batch_size=self.batch_size,
            class_weight=class_weight,
            callbacks=callbacks,
            verbose=self.verbose,
        )
        epoch_logs = next(callback.epochs for callback in callbacks
                          if isinstance(callback, _training.EpochLogWriter))
        if timer is not None and not timer.epoch_seconds and not previous_logs:
            if folder is not None:
                # Nothing usable was trained: a re-run with a larger budget starts afresh.
                shutil.rmtree(folder.backup, ignore_errors=True)
            self._refuse_budget(timer, fit_start)
        if folder is None:
            self._recompute_batchnorm(model, X, y)
            return epoch_logs
        if self.early_stopping_patience is not None:
            _checkpoints.restore_best_weights(model, folder)
        self._recompute_batchnorm(model, X, y)
        folder.record_finished(model, checkpoint.final, epoch_logs)
        return epoch_logs

    def _recomputes_batchnorm(self):
        return bool(self.precise_bn)

    def _time_budget(self, fit_start, previous_logs, n_train):
        """The :class:`members._budget.TimeBudget` callback of a fit with ``time_limit``, or None.

        A resumed fit's deadline leaves out what the interrupted one spent,
        and its schedule keeps the length that one planned.
        """
        if self.time_limit is None:
            return None
        spent = _budget.spent_seconds(previous_logs)
        # The batch-norm pass runs after the last epoch, recomputing or (precise_bn=False)
        # only measuring the statistics.
        bn_rows = min(n_train, self._bn_row_limit())

        def reserve(epoch_seconds):
            # The batch-norm pass runs about three forward passes over its rows:
            # roughly one training epoch's cost on that share of the rows.
            return epoch_seconds * bn_rows / max(n_train, 1)

        return _budget.TimeBudget(
            fit_start + float(self.time_limit) - spent, self.epochs, reserve, start=fit_start,
            schedule=self.__dict__.get("_planned_schedule"),
            planned=_budget.planned_epochs(previous_logs))

    def _refuse_budget(self, timer, fit_start):
        """No epoch finished in ``time_limit``: say which budget would have trained one."""
        epoch = timer.projected_epoch()
        smallest = (timer.epoch_start - fit_start) + epoch + timer.reserve(epoch) + 1.0
        smallest = budget.round_up_seconds(1.2 * smallest)
        reason = (f"{type(self).__name__} needs about {epoch:.1f} s for one epoch of "
                  f"{timer.steps_per_epoch or 1} batches here")
        raise budget.BudgetTooSmallError(
            f"time_limit={self.time_limit:g} s is too small to train one epoch: {reason}; the "
            f"smallest workable budget is about {smallest} s.", smallest, reason, epoch)

    def _bn_row_limit(self):
        return (PRECISE_BN_ROWS if isinstance(self.precise_bn, (bool, np.bool_))
                else int(self.precise_bn))

    def _recompute_batchnorm(self, model, X, y):
        """Precise batch-norm statistics for the weights ``fit`` ends with (best epoch included)."""
        if self._recomputes_batchnorm():
            labels = _distillation.labels_of(y, model.output_shape[-1])
            self.batchnorm_check_ = self._match_batchnorm(model, X, labels, update=True)

    def _match_batchnorm(self, model, X, y, *, update):
        """Recompute (or measure) batch-norm statistics on a bounded share of the training rows.

        Warns when the member predicts its own training rows far worse in
        inference mode than with batch statistics: the moving statistics do
        not describe the weights.
        """
        limit = self._bn_row_limit()
        rows = np.arange(len(X))
        if len(rows) > limit:
            # A fixed draw: the same rows for a fit and its resumption, whatever the seed.
            rows = np.sort(np.random.default_rng(0).choice(len(X), limit, replace=False))
        check = _batchnorm.batchnorm_statistics(
            model, np.asarray(X[rows], dtype="float32"), np.asarray(y)[rows],
            batch_size=self.batch_size, update=update)
        if check is None:
            return None
        gap = check.batch_statistics_accuracy - check.inference_accuracy
        if gap > BATCHNORM_WARNING_GAP:
            warnings.warn(
                f"{type(self).__name__} predicts {check.n_rows} of its own training rows with "
                f"accuracy {check.inference_accuracy:.3f} in inference mode but "
                f"{check.batch_statistics_accuracy:.3f} with batch statistics: its batch-norm "
                "moving statistics do not match its weights (too few training steps for the "
                "moving averages to catch up"
                + ("; precise_bn=False). Fit with precise_bn=True (the default) to recompute "
                   "them." if not self._recomputes_batchnorm() else
                   ", even after recomputing them from these rows: check that the network "
                   "behaves the same in training and inference mode apart from batch norm)."),
                BatchNormMismatchWarning, stacklevel=4)
        return dict(check)

    def _callbacks(self, monitor, folder, previous_logs):
        """The training callbacks, the epoch-log writer first."""
        history_path = None if folder is None else folder.folder / _checkpoints.HISTORY_FILE
        log_writer = _training.EpochLogWriter(history_path, previous_logs)
        callbacks = [log_writer]
        previous_values = _training.monitored_values(previous_logs, monitor)
        if self.early_stopping_patience is not None:
            callbacks.append(_training.ResumableEarlyStopping(
                monitor=monitor, patience=self.early_stopping_patience,
                restore_best_weights=True, previous_values=previous_values,
            ))
        if self.lr_schedule == "plateau" and self.reduce_lr_patience is not None:
            callbacks.append(_training.ResumableReduceLROnPlateau(
                monitor=monitor, factor=self.reduce_lr_factor,
                patience=self.reduce_lr_patience, min_lr=self.min_lr,
                previous_values=previous_values,
            ))
        if folder is not None:
            callbacks.append(_checkpoints.BestCheckpoint(
                folder.best, monitor, best=min(previous_values) if previous_values else None,
            ))
            # Last, so that it records an epoch only after the others saw it.
            callbacks.append(_checkpoints.EpochBackup(folder.backup, log_writer))
        if self.tensorboard_dir is not None:
            callbacks.append(keras.callbacks.TensorBoard(
                log_dir=os.fspath(self.tensorboard_dir), histogram_freq=self.histogram_freq,
            ))
        return callbacks + _training.user_callbacks(self.callbacks)

    def compiled_model(self, input_shape, n_classes, pixel_scale=1.0, steps_per_epoch=1,
                       seed=None, images=False):
        """The compiled Keras model ``fit`` would train, built but not trained.

        Flat raw rows -> reshape -> scale -> augmentation layers -> the
        network -> ``n_classes`` probabilities, compiled with this member's
        optimizer, schedule and loss. ``fit`` trains exactly this model; it is
        public for benchmarks and for users who want to time or inspect the
        bare Keras model.

        Parameters
        ----------
        input_shape : tuple of int
            Shape of one sample as the network sees it, e.g. ``(28, 28, 1)``.
        n_classes : int
        pixel_scale : float, default=1.0
            Factor applied to the raw rows (``1 / 255`` for 8-bit pixels).
        steps_per_epoch : int, default=1
            Batches per epoch, for the learning-rate schedule.
        seed : int or None, default=None
            Seed of the augmentation layers.
        images : bool, default=False
            Refuse images too small for the network's downsampling
            (see :func:`members.check_image_size`).

        Returns
        -------
        keras.Model
            Takes flat rows of ``prod(input_shape)`` values.
        """
        build_fn, build_params = self._builder()
        n_features = int(np.prod(input_shape))
        inputs = keras.Input(shape=(n_features,), name="pixels")
        x = keras.layers.Reshape(input_shape, name="to_input_shape")(inputs)
        if pixel_scale != 1.0:
            x = keras.layers.Rescaling(pixel_scale, name="pixel_scale")(x)
        for layer in _augment.augmentation_layers(
                input_shape, random_shift=self.random_shift, horizontal_flip=self.horizontal_flip,
                augmentation=self.augmentation, seed=seed):
            x = layer(x)
        network = build_fn(input_shape, n_classes, **build_params)
        if not isinstance(network, keras.Model):
            raise TypeError(
                f"build_fn must return a keras.Model, got {type(network).__name__}."
            )
        if images:
            _sizes.check_downsampling(network, input_shape, type(self).__name__,
                                      _sizes.downsampling_hint(self.get_params()))
        model = keras.Model(inputs, network(x), name=f"{network.name}_member")
        if model.output_shape[-1] != n_classes:
            raise ValueError(
                f"build_fn returned a model with {model.output_shape[-1]} outputs for "
                f"{n_classes} classes."
            )
        self._compile(model, steps_per_epoch)
        return model

    def _compile(self, model, steps_per_epoch, teacher=None):
        """Compile with this member's optimizer and loss (also a model loaded from a checkpoint).

        With a ``teacher`` (``fit``'s ``teacher_proba``), the loss is
        :class:`members._distillation.DistillationLoss` on the targets
        :meth:`_targets` made.
        """
        if self.time_limit is not None and self.lr_schedule == "cosine":
            # A length the time budget sets after the first epoch.
            learning_rate = _budget.PlannedCosine(self.learning_rate, steps_per_epoch,
                                                  self.epochs, self.warmup_epochs)
            self._planned_schedule = learning_rate
        else:
            learning_rate = _training.learning_rate_schedule(
                self.lr_schedule, self.learning_rate, steps_per_epoch=steps_per_epoch,
                epochs=self.epochs, warmup_epochs=self.warmup_epochs,
            )
        metrics = ["accuracy"]
        if teacher is not None:
            loss = _distillation.DistillationLoss(teacher.temperature, teacher.weight)
            metrics = [_distillation.accuracy]
        elif self.label_smoothing:
            loss = keras.losses.CategoricalCrossentropy(label_smoothing=self.label_smoothing)
        else:
            loss = keras.losses.SparseCategoricalCrossentropy()
        model.compile(
            optimizer=_training.make_optimizer(self.optimizer, learning_rate,
                                               weight_decay=self.weight_decay),
            loss=loss,
            metrics=metrics,
        )

    def _targets(self, y_encoded, n_classes, teacher=None):
        """Class indices; one-hot rows when label smoothing needs them; with a teacher,
        ``[labels | tempered teacher probabilities]`` (see :mod:`members._distillation`)."""
        if teacher is not None:
            proba = _distillation.check_teacher_proba(teacher.proba, len(y_encoded), n_classes)
            return _distillation.distillation_targets(y_encoded, proba, teacher.temperature,
                                                      self.label_smoothing)
        if not self.label_smoothing:
            return y_encoded
        return np.eye(n_classes, dtype="float32")[y_encoded]

    def _encoded_class_weight(self, classes, y):
        if self.class_weight is None:
            return None
        weights = compute_class_weight(self.class_weight, classes=classes, y=y)
        return {index: float(weight) for index, weight in enumerate(weights)}

    def _check_training_params(self):
        """Clear errors for bad settings, before any network is built."""
        check_int(self.epochs, "epochs", minimum=1)
        if self.time_limit is not None:
            check_real(self.time_limit, "time_limit", low=0.0, low_open=True)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_int(self.histogram_freq, "histogram_freq", minimum=0)
        for name in ("early_stopping_patience", "reduce_lr_patience"):
            if getattr(self, name) is not None:
                check_int(getattr(self, name), name, minimum=0)
        if not (isinstance(self.precise_bn, (bool, np.bool_))
                or (is_int(self.precise_bn) and self.precise_bn >= 1)):
            raise ValueError("precise_bn must be True, False or a number of rows >= 1, got "
                             f"{self.precise_bn!r}.")
        check_real(self.learning_rate, "learning_rate", low=0.0, low_open=True)
        check_real(self.warmup_epochs, "warmup_epochs", low=0.0)
        check_real(self.weight_decay, "weight_decay", low=0.0)
        check_real(self.label_smoothing, "label_smoothing", low=0.0, high=1.0, high_open=True)
        check_real(self.min_lr, "min_lr", low=0.0)
        check_real(self.reduce_lr_factor, "reduce_lr_factor", low=0.0, high=1.0,
                    low_open=True, high_open=True)
        check_real(self.validation_fraction, "validation_fraction", low=0.0, high=1.0,
                    high_open=True)
        if self.optimizer not in _training.OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {_training.OPTIMIZERS}, got {self.optimizer!r}."
            )
        if self.lr_schedule not in _training.LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule must be one of {_training.LR_SCHEDULES}, got {self.lr_schedule!r}."
            )
        _augment.check_augmentation_params(self.random_shift, self.horizontal_flip,
                                           self.augmentation, self.tta)
        _training.user_callbacks(self.callbacks)

    # --------------------------------------------------------------- augmentation
    def augment(self, X, n_copies=1, random_state=None):
        """``n_copies`` of the images as this member's training-time augmentation transforms them.

        The same layers ``fit`` puts in front of the network (``random_shift``,
        ``horizontal_flip``, ``augmentation``), run in training mode on the
        pixels scaled as the model scales them (``pixel_scale``), then scaled
        back: integer images come back rounded to their dtype (shifts and
        flips move whole pixels, so they stay exact). Needs no fit; for
        looking at the augmentation, and for distillation with a consistent
        teacher (:func:`ensemble.export.distillation.distill`'s ``augmented_copies``).

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels])
            Images (``input_shape`` when set says the shape of flat rows).
        n_copies : int, default=1
        random_state : int or None, default=None

        Returns
        -------
        ndarray of shape (n_copies * n_samples, ...)
            Copy after copy, each in the rows' order, in ``X``'s shape and dtype.
        """
        check_int(n_copies, "n_copies", minimum=1)
        X = np.asarray(X)
        shape = X.shape[1:] if X.ndim > 2 else self.input_shape
        if shape is None or len(tuple(shape)) < 2:
            raise ValueError(
                f"augment needs images of shape (n_samples, height, width[, channels]), got an "
                f"array of shape {X.shape}; set input_shape to say the shape of flat rows."
            )
        shape = tuple(shape) if len(tuple(shape)) == 3 else tuple(shape) + (1,)
        _augment.check_augmentation_params(self.random_shift, self.horizontal_flip,
                                           self.augmentation, self.tta)
        layers = _augment.augmentation_layers(
            shape, random_shift=self.random_shift, horizontal_flip=self.horizontal_flip,
            augmentation=self.augmentation, seed=seed_from(random_state))
        # The layers see what they see in fit: pixels after the model's scaling.
        scale = resolve_pixel_scale(self.pixel_scale, X.reshape(len(X), -1))
        images = X.reshape((len(X),) + shape).astype("float32") * np.float32(scale)
        copies = [_augment.apply_in_batches(layers, images) for _ in range(n_copies)]
        out = np.concatenate(copies) / np.float32(scale)
        if np.issubdtype(X.dtype, np.integer):
            info = np.iinfo(X.dtype)
            out = np.clip(np.rint(out), info.min, info.max)
        return out.astype(X.dtype).reshape((n_copies * len(X),) + X.shape[1:])

    # -------------------------------------------------------------------- predict
    def predict_proba(self, X):
        """Class probabilities, one column per entry of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            float64, rows summing to one.
        """
        return _exact_rows(self._predict_passes(X, average=True))

    def predict_uncertainty(self, X):
        """Per-row confidence and uncertainty, the test-time augmentation passes as an ensemble.

        Each pass of test-time augmentation (``tta``: the image, its mirror,
        one-pixel shifts) is one "member" of equal weight; their disagreement
        is the mutual information. Without test-time augmentation (one pass)
        the passes cannot disagree: ``mutual_information`` is 0 and
        ``expected`` equals ``total``. An ensemble's
        ``predict_uncertainty`` measures the disagreement of its members.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])

        Returns
        -------
        sklearn.utils.Bunch
            ``proba`` (what :meth:`predict_proba` returns), ``confidence``
            (its row maximum), ``total`` (its entropy, in nats), ``expected``
            (the mean entropy of the passes), ``mutual_information``
            (``total - expected``, at least 0) and ``n_passes``; each per-row
            array has shape (n_samples,). Formulas in
            :func:`members.utils.uncertainty.decompose_uncertainty`.
        """
        passes = _exact_rows(self._predict_passes(X, average=False))
        parts = decompose_uncertainty(passes)
        return Bunch(proba=parts.proba, confidence=parts.confidence, total=parts.total,
                     expected=parts.expected, mutual_information=parts.mutual_information,
                     n_passes=len(passes))

    def _predict_passes(self, X, average):
        check_is_fitted(self)
        X, image_shape = flatten_images(X)
        self._check_image_shape(image_shape)
        X = validate_data(self, X, dtype="numeric", reset=False)
        self._check_pixel_range(X)
        transforms = resolve_tta(self.tta, self.horizontal_flip, self.input_shape_)
        return predict_in_batches(self.model_, X, transforms=transforms,
                                  image_shape=self.input_shape_, average=average)

    def _check_image_shape(self, image_shape):
        """Images of another shape with as many pixels would be silently reshaped: refuse them."""
        fitted_on = getattr(self, "_fit_image_shape", None)
        if image_shape is None or fitted_on is None:
            return  # flat rows, or a member fitted on flat rows: their layout is the user's
        if tuple(image_shape) not in (tuple(fitted_on), tuple(self.input_shape_)):
            raise ValueError(
                f"X holds images of shape {tuple(image_shape)}, but {type(self).__name__} was "
                f"fitted on images of shape {tuple(fitted_on)}."
            )

    def _check_pixel_range(self, X):
        """Refuse values a model trained on raw 8-bit pixels never saw and would misread.

        With ``pixel_scale="auto"`` the model divides its inputs by 255 when it
        was trained on raw pixels; data outside [0, 255] at prediction time
        is then another kind of data (standardised, 16-bit, corrupt), and
        its predictions would be meaningless rather than wrong by a little.
        """
        if self.pixel_scale != "auto" or self.pixel_scale_ != 1.0 / MAX_PIXEL or X.size == 0:
            return
        low, high = float(np.min(X)), float(np.max(X))
        if low < 0.0 or high > MAX_PIXEL:
            raise ValueError(
                f"X holds values outside [0, 255] (min {low:g}, max {high:g}), but "
                f"{type(self).__name__} was fitted on raw 8-bit pixels, which it divides by 255 "
                "(pixel_scale='auto'). Pass pixels in [0, 255], or fit with an explicit "
                "pixel_scale."
            )

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    # -------------------------------------------------------------- sklearn protocol
    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.classifier_tags.multi_label = False
        return tags

    # ------------------------------------------------------------------- pickling
    def __getstate__(self):
        state = self.__dict__.copy()
        if "model_" in state:
            state["model_"] = keras_model_to_bytes(state["model_"])
        return state

    def __setstate__(self, state):
        if isinstance(state.get("model_"), bytes):
            state = dict(state, model_=keras_model_from_bytes(state["model_"]))
        self.__dict__.update(state)


def _split_rows(y_encoded, groups, fraction, seed):
    """Training and validation row numbers (None: no validation), groups kept together."""
    if groups is None:
        train, _, validation = validation_split(np.arange(len(y_encoded)), y_encoded,
                                                fraction, seed)
        return train, None if validation is None else validation[0]
    groups = np.asarray(groups)
    if groups.shape != y_encoded.shape:
        raise ValueError(f"groups must have one entry per row of X ({len(y_encoded)}), got "
                         f"shape {groups.shape}.")
    _, first, of_row = np.unique(groups, return_index=True, return_inverse=True)
    train, _, validation = validation_split(np.arange(len(first)), y_encoded[first],
                                            fraction, seed)
    if validation is None:
        return np.arange(len(y_encoded)), None
    held_out = np.isin(of_row, validation[0])
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def _teacher_classes(classes, y):
    """``fit``'s ``classes``: sorted, unique, and holding every label of ``y``."""
    classes = np.asarray(classes)
    if classes.ndim != 1 or len(np.unique(classes)) != len(classes):
        raise ValueError("classes must be a 1-d array of distinct labels, one per column of "
                         "teacher_proba.")
    if not np.array_equal(np.sort(classes), classes):
        raise ValueError("classes must be sorted, as teacher_proba's columns are (the order "
                         "of a fitted classifier's classes_).")
    unknown = np.setdiff1d(np.unique(y), classes)
    if unknown.size:
        raise ValueError(f"y holds labels that are not in classes: {unknown.tolist()[:10]}.")
    return classes


def _exact_rows(proba):
    """float32 softmax rows can sum to 1 +- 1e-7; scikit-learn's metrics want them exact."""
    proba = np.asarray(proba, dtype=np.float64)
    return proba / proba.sum(axis=-1, keepdims=True)
