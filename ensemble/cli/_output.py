"""What the subcommands write: stdout (tables or one JSON object) and files, never clobbering."""

import csv
import io
import json
import sys
from pathlib import Path

from ensemble.cli._options import CliError
from members.utils.files import atomic_write_bytes


def say(args, text=""):
    """A line of human-readable output, unless ``--quiet`` or ``--json``."""
    if not (args.quiet or args.json):
        print(text, flush=True)


def emit_json(args, result):
    """With ``--json``, the command's result as one JSON object on stdout."""
    if args.json:
        json.dump(result, sys.stdout, indent=2, sort_keys=True, default=_json_default)
        sys.stdout.write("\n")


def _json_default(value):
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return value.tolist()
    return str(value)


def refuse_existing(paths, overwrite):
    """Raise before any work starts if an output exists and ``--overwrite`` was not given."""
    for path in paths:
        parent = Path(path).parent
        if not parent.is_dir():
            raise CliError(f"cannot write {path}: the folder {parent} does not exist")
        if Path(path).is_dir():
            raise CliError(f"cannot write {path}: it is a folder")
    existing = [str(path) for path in paths if Path(path).exists()]
    if existing and not overwrite:
        raise CliError(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
                       "pass --overwrite to replace, or choose another path")


def write_csv(path, header, rows, *, overwrite):
    """Write a CSV file atomically; without ``overwrite`` never replace a file (even a new one)."""
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_bytes(path, text.getvalue().encode(), overwrite=overwrite)


def output_folder(path):
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CliError(f"{path} exists and is not a folder")
    path.mkdir(parents=True, exist_ok=True)
    return path
