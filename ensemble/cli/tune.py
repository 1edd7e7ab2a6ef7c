"""Search a member's hyper-parameters (Bayesian optimisation with Optuna, pruning bad trials).

examples:
  keras-ensembles tune --member plain --trials 20
  keras-ensembles tune --member residual --space space.json --storage sqlite:///studies.db
  keras-ensembles tune --member plain --trials 40 --timeout 3600 --output best.zip

Trials train on the training split minus --holdout, which scores them; the
best trial is then refitted on the whole training split and scored on the
test split, which the search never saw (a file without a test split gives up
20 % of its rows for it). The study lives in a SQLite file (tune.db by
default) under --study-name (the member's name by default): rerunning the
same command resumes it and runs only the missing trials, and several
processes or machines given the same --storage share the work. --trials is
the total of finished (complete or pruned) trials in the study.

search spaces: --space default uses the member's preset (learning_rate,
dropout, and its width and depth); --space PATH reads a JSON object with one
entry per parameter of the member:
  {"learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": true},
   "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.05},
   "dense_units": {"type": "int", "low": 32, "high": 256, "log": true},
   "optimizer": {"type": "categorical", "choices": ["adam", "rmsprop"]}}
float and int take low and high (both included) and optionally log or step;
categorical takes a list of choices (numbers, strings, booleans or null).
"""

import time
from pathlib import Path

from ensemble.cli._data import check_image_sizes, load_data, pick_split
from ensemble.cli._options import (
    MEMBER_NAMES,
    CliError,
    add_command,
    add_common_options,
    add_data_option,
    add_holdout_and_epochs,
    positive_float,
    positive_int,
)
from ensemble.cli._output import emit_json, refuse_existing, say
from members.utils.quiet import import_keras_quietly

#: Where the study lives when --storage is not given.
DEFAULT_STORAGE = "tune.db"
#: Share of a file without a test split kept aside as the unseen data.
UNSEEN_FRACTION = 0.2
SCORINGS = ("accuracy", "neg_log_loss")
#: User attribute of the study recording the command line's data (which the search's own
#: fingerprint of its settings can't see).
SETTINGS_ATTR = "keras_ensembles_cli"
TOP_TRIALS = 5


def add_parser(commands):
    parser = add_command(commands, "tune", __doc__, run)
    add_data_option(parser, "; the search uses the training split, the report the test split")
    group = parser.add_argument_group("search")
    group.add_argument("--member", choices=MEMBER_NAMES, default="plain",
                       help="the member whose hyper-parameters are searched")
    group.add_argument("--space", default="default", metavar="default|PATH",
                       help="the member's preset search space, or a JSON file (format below)")
    group.add_argument("--trials", type=positive_int, default=20,
                       help="finished trials the study must hold (a resumed study runs the rest)")
    group.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                       help="start no new trial after this many seconds")
    group.add_argument("--sampler", choices=("tpe", "gp", "random"), default="tpe",
                       help="tpe: tree-structured Parzen estimator; gp: Gaussian process "
                            "(needs PyTorch); random: random search")
    group.add_argument("--no-pruning", action="store_true",
                       help="train every trial to the end (by default trials trailing the "
                            "median after an epoch are stopped)")
    group.add_argument("--scoring", choices=SCORINGS, default="accuracy",
                       help="what trials are ranked by, on the --holdout rows")
    add_holdout_and_epochs(group, holdout_default=0.2, held_out_to="score trials",
                           epochs_help="maximum epochs of every trial (default: the member's own)")
    storage = parser.add_argument_group("study")
    storage.add_argument("--storage", default=DEFAULT_STORAGE, metavar="URL|PATH",
                         help="a SQLAlchemy URL (sqlite:///study.db, postgresql://...) or a "
                              "SQLite file path; shared by every process given it")
    storage.add_argument("--study-name", default=None, metavar="NAME",
                         help="the study in the storage (default: the member's name)")
    storage.add_argument("--tensorboard-dir", default=None, metavar="DIR",
                         help="log every trial to TensorBoard's HParams dashboard")
    storage.add_argument("--output", "-o", default=None, metavar="PATH",
                         help="save the refitted best member as an archive (zip)")
    add_common_options(parser)
    return parser


def run(args):
    from ensemble.tuning.spaces import default_search_space, load_search_space
    from ensemble.tuning.studies import check_distributions, check_sampler

    url = storage_url(args.storage)
    study_name = args.study_name or args.member
    space = (default_search_space(args.member) if args.space == "default"
             else load_search_space(_existing_file(args.space)))
    _check_sampler_installed(check_sampler, args.sampler)
    if args.output is not None:
        refuse_existing([args.output], args.overwrite)
    data, X, y, X_unseen, y_unseen, unseen_name = _training_and_unseen(args)

    import_keras_quietly()
    search = _search(args, space, url, study_name)
    check_image_sizes(args, [(args.member, search.estimator)], data.image_shape)
    # A misspelt parameter is refused before the study is created or resumed.
    check_distributions(space, set(search.estimator.get_params()), search.estimator)
    finished_before = _prepare_study(url, study_name, _settings(args, len(y)), search, args)
    start = time.perf_counter()
    search.fit(X, y)
    seconds = time.perf_counter() - start
    search_report = search.report(X_unseen, y_unseen, top=TOP_TRIALS)
    say(args, f"Study {study_name!r} in {args.storage}: {search.n_trials_} finished trials, "
              f"{search.n_trials_ - (finished_before or 0)} of them new; {seconds:.1f} s with "
              "the refit of the best")
    say(args, f"\n{search_report}")
    say(args, f"\nUnseen data: {unseen_name}. Best parameters: "
              + ", ".join(f"{name}={value!r}" for name, value in search.best_params_.items()))
    if args.output is not None:
        from ensemble import save

        best = search.best_estimator_
        best.class_names_ = tuple(data.names_of(best.classes_))
        save(best, args.output, overwrite=args.overwrite)
        say(args, f"Saved the refitted best member to {args.output}")

    result = {"command": "tune", "member": args.member, "storage": url, "study_name": study_name,
              "resumed": finished_before is not None, "n_trials": search.n_trials_,
              "finished_before": finished_before or 0, "seconds": seconds,
              "scoring": args.scoring, "best_trial": search.best_trial_.number,
              "best_params": search.best_params_, "best_score": search.best_score_,
              "report": search_report.to_dict(), "unseen_data": unseen_name,
              "output": args.output}
    emit_json(args, result)
    return result


def storage_url(text):
    """A SQLAlchemy URL from ``--storage``: a plain path is a SQLite file in an existing folder."""
    if "://" in text:
        return text
    path = Path(text)
    if not path.parent.is_dir():
        raise CliError(f"cannot create the study file {text}: the folder {path.parent} "
                       "does not exist")
    if path.is_dir():
        raise CliError(f"--storage {text} is a folder; give a file such as {path / 'tune.db'}")
    return f"sqlite:///{path}"


def _seconds(text):
    return positive_float(text, "number of seconds")


def _existing_file(path):
    if not Path(path).is_file():
        raise CliError(f"search space file {path} does not exist (give a JSON file or 'default')")
    return path


def _check_sampler_installed(check_sampler, sampler):
    try:
        check_sampler(sampler)
    except ImportError as error:
        raise CliError(f"--sampler {sampler}: {error}") from None


def _training_and_unseen(args):
    """The rows the search uses, and the rows it never sees (the test split)."""
    splits = load_data(args)
    _, data = pick_split(splits, args, split="train", labels_required=True,
                         n_rows=args.n_train)
    X, y = data
    test = splits.get("test") if "train" in splits else None
    if test is not None and test.y is not None:
        return (data, X, y, test.X, test.y,
                f"the test split of {args.data} ({len(test.y)} rows)")
    from sklearn.model_selection import train_test_split

    try:
        X, X_unseen, y, y_unseen = train_test_split(X, y, test_size=UNSEEN_FRACTION, stratify=y,
                                                    random_state=args.seed)
    except ValueError as error:
        raise CliError(f"{args.data} has no test split and too few rows to hold out "
                       f"{UNSEEN_FRACTION:.0%} of every class ({error})") from None
    return data, X, y, X_unseen, y_unseen, (f"{len(y_unseen)} rows ({UNSEEN_FRACTION:.0%}) "
                                            f"held out of {args.data}")


def _settings(args, n_train):
    """The data the trials are scored on: a resume must not change it.

    The member, its epochs and seed, the holdout and the scoring are in the
    fingerprint the search itself records and checks.
    """
    settings = {"data": args.data, "n_train": int(n_train)}
    # Recorded only when given, so that studies from before these options resume.
    for name in ("image_size", "color_mode", "image_shape", "label_column", "id_column"):
        value = getattr(args, name)
        if value is not None and value != "auto":
            settings[name] = list(value) if isinstance(value, tuple) else value
    return settings


def _prepare_study(url, study_name, settings, search, args):
    """Create the study or check that it continues the same search; say which.

    Returns
    -------
    int or None
        Finished trials already in the study, or None when it is new.
    """
    import optuna
    import sqlalchemy

    from ensemble.tuning import study_storage
    from ensemble.tuning.studies import (
        FINGERPRINT_ATTR,
        FINISHED,
        changes_since_recorded,
        optuna_quiet,
    )

    with optuna_quiet():
        try:
            storage = study_storage(url)
            exists = study_name in optuna.study.get_all_study_names(storage)
            study = optuna.create_study(storage=storage, study_name=study_name,
                                        direction="maximize", load_if_exists=True)
        except sqlalchemy.exc.SQLAlchemyError as error:  # not a database, a server down, ...
            raise CliError(f"cannot open the study storage {url}: "
                           f"{getattr(error, 'orig', None) or error}") from None
    recorded = study.user_attrs.get(SETTINGS_ATTR)
    changed = [f"{key} {recorded.get(key)!r} (now {settings.get(key)!r})"
               for key in sorted(set(settings) | set(recorded or {}))
               if recorded is not None and recorded.get(key) != settings.get(key)]
    fingerprint = study.user_attrs.get(FINGERPRINT_ATTR)
    if fingerprint is not None:  # the search checks it too; here it is said in CLI terms
        changed += changes_since_recorded(search, fingerprint)
    if changed:
        raise CliError(f"study {study_name!r} in {args.storage} was run with other settings: "
                       f"{'; '.join(changed)}; rerun with those, or choose another --study-name")
    if recorded is None:
        study.set_user_attr(SETTINGS_ATTR, settings)
    if not exists:
        say(args, f"New study {study_name!r} in {args.storage}")
        return None
    finished = len(study.get_trials(deepcopy=False, states=FINISHED))
    say(args, f"Resuming study {study_name!r} in {args.storage}: {finished} of {args.trials} "
              f"trials finished" + (", refitting its best" if finished >= args.trials else ""))
    return finished


def _search(args, space, url, study_name):
    from ensemble.cli._build import MEMBER_CLASSES
    from ensemble.tuning import BayesSearchCV

    params = {"random_state": args.seed}
    if args.epochs is not None:
        params["epochs"] = args.epochs
    member = MEMBER_CLASSES[args.member](**params)
    return BayesSearchCV(
        member, space, n_trials=args.trials, timeout=args.timeout, holdout=args.holdout,
        scoring=args.scoring, sampler=args.sampler,
        pruning=not args.no_pruning, storage=url, study_name=study_name,
        random_state=args.seed, tensorboard_dir=args.tensorboard_dir,
        verbose=0 if (args.quiet or args.json) else 1,
    )

