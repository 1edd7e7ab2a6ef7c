"""The ``keras-ensembles`` command line: fit, cv, evaluate, predict, blend, tune, export, distill.

Each subcommand lives in its own module with two functions,
``add_arguments(parser)`` and ``run(args) -> dict``; :func:`main` parses,
runs, and turns the errors a user can cause (a missing file, a malformed CSV,
an archive that fails verification, an option out of range) into one line on
stderr and a non-zero exit status, without a traceback. Set
``KERAS_ENSEMBLES_DEBUG=1`` to get the traceback of an unexpected error.

TensorFlow is imported only once a command has checked its arguments and
data (through :func:`members.utils.quiet.import_keras_quietly`, which keeps its
C++ start-up lines off the terminal), so ``--help`` and input errors are
instant.

What lives here
---------------
One module per subcommand (``fit``, ``cv``, ``evaluate``, ``predict``,
``blend``, ``tune``, ``export``, ``distill``); ``_options`` (shared arguments), ``_data`` (reading
``--data``), ``_build`` (members and combiners from options), ``_output``
(printing, ``--json``, files that are never overwritten silently).

What it may import
------------------
Anything public in ``ensemble`` and ``members``: the command line sits on
top and is built only from public names (``tests/test_codebase.py``).
"""

import os
import sys
import time

from ensemble.cli._options import PROG, CliError, OneLineParser

#: Exceptions a user's input can cause (scikit-learn's and ours); one line, exit status 1.
USER_ERRORS = (CliError, ValueError, TypeError, OSError)

#: Exit status of an interrupted run (128 + SIGINT), as shells report it.
INTERRUPTED = 130


def build_parser():
    """The argument parser with every subcommand."""
    from ensemble.cli import blend, cv, distill, evaluate, export, fit, predict, tune

    parser = OneLineParser(
        prog=PROG,
        description="Train, cross-validate, evaluate and apply ensembles of Keras networks.",
        epilog=f"Run '{PROG} COMMAND --help' for a command's options and examples.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=OneLineParser)
    for module in (fit, cv, evaluate, predict, blend, tune, export, distill):
        module.add_parser(commands)
    return parser


def main(argv=None):
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; ``sys.argv[1:]`` when ``None``.

    Returns
    -------
    int
        0 on success, 1 on an error, 2 on a usage error, 130 when interrupted.
    """
    started = time.monotonic()  # --time-limit counts the whole command
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error already printed on one line
        return exit_.code if isinstance(exit_.code, int) else 2
    args.started = started
    try:
        args.run(args)
    except BrokenPipeError:  # e.g. `--json | head`: the reader left; nothing to say
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except USER_ERRORS as exc:
        if os.environ.get("KERAS_ENSEMBLES_DEBUG"):
            raise
        print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug of ours: still no wall of text, but say how to see it
        if os.environ.get("KERAS_ENSEMBLES_DEBUG"):
            raise
        print(f"{PROG}: error: unexpected {type(exc).__name__}: {one_line(exc)} "
              "(set KERAS_ENSEMBLES_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    return 0


def one_line(exc):
    """The exception's message on one line (OSError's filename included)."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        message = f"{exc.strerror}: {exc.filename}"
    else:
        message = str(exc)
    return " ".join(message.split()) or type(exc).__name__
