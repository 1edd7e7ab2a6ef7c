"""docs/architecture.rst and the API pages stay true to the code.

The architecture page names every package, its "may import" table is
``ALLOWED`` of tests/test_codebase.py (which enforces it on the imports),
its command table names every command; every public module has an API page
entry, and the front door's page every name ``ensemble`` exports.
"""

import re
from pathlib import Path

import pytest
from test_codebase import ALLOWED

import ensemble
from ensemble.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGE = (DOCS / "architecture.rst").read_text()


def sub_packages():
    """``members.utils`` and ``ensemble``'s sub-packages: the folders with an ``__init__.py``."""
    return sorted(".".join(path.parent.relative_to(ROOT).parts)
                  for top in ("members", "ensemble") for path in (ROOT / top).glob("*/__init__.py"))


def section(text, title):
    start = text.index(f"\n{title}\n{'-' * len(title)}\n")
    end = re.search(r"\n[^\n]+\n-+\n", text[start + len(title) + 2:])
    return text[start:start + len(title) + 2 + end.start()] if end else text[start:]


def simple_table(text):
    """The first reStructuredText simple table in ``text``: {first cell: the rest of its row}.

    A line whose first cell is blank continues the row above.
    """
    lines = text.splitlines()
    borders = [index for index, line in enumerate(lines)
               if re.fullmatch(r" *=+( +=+)+ *", line)]
    border = lines[borders[0]]
    indent = len(border) - len(border.lstrip())
    second_column = re.match(r" *=+ +", border).end()
    rows = {}
    last = None
    for line in lines[borders[1] + 1:borders[2]]:
        first, rest = line[indent:second_column].strip(), line[second_column:].strip()
        if first:
            last = first
            rows[last] = rest
        elif rest:
            rows[last] += " " + rest
    return rows


def literals(cell):
    return set(re.findall(r"``([\w.<>|-]+)``", cell))


def test_every_package_is_named_on_the_page_and_in_the_layer_diagram():
    diagram = PAGE.split(".. code-block:: text", 1)[1].split("\n\n", 2)[1]
    packages = sub_packages()
    assert "members.utils" in packages and "ensemble.combiners" in packages
    for package in packages + ["members", "ensemble"]:
        assert f"``{package}``" in PAGE, package
        assert package in diagram, package


def test_the_may_import_table_is_the_one_test_codebase_enforces():
    rows = simple_table(section(PAGE, "Who may import whom"))
    table = {literals(first).pop(): literals(rest) for first, rest in rows.items()}
    assert table == ALLOWED
    assert rows["``members.utils``"] == "nothing of the project"


def test_the_ownership_table_has_one_row_per_package():
    rows = simple_table(section(PAGE, "Who owns what"))
    assert {literals(first).pop() for first in rows} == set(ALLOWED)
    assert set(ALLOWED) == set(sub_packages()) | {"members", "ensemble"}


def test_the_command_table_names_every_command():
    rows = simple_table(section(PAGE, "The command line"))
    commands = build_parser()._subparsers._group_actions[0].choices
    assert {literals(first).pop() for first in rows} == set(commands)


def public_modules():
    """Every package of the library and its modules without a leading underscore.

    The command line's modules are its commands, documented by ``--help``;
    ``ensemble.demo`` is ``make demo``.
    """
    names = ["members", "ensemble"]
    for package in ["members"] + sub_packages():
        names.append(package)
        if package != "ensemble.cli":
            names += [f"{package}.{path.stem}" for path in (ROOT / Path(*package.split(".")))
                      .glob("*.py") if not path.stem.startswith("_")]
    return sorted(set(names))


AUTOMODULES = {match for page in DOCS.glob("*.rst")
               for match in re.findall(r"^\.\. automodule:: (\S+)", page.read_text(), re.M)}


@pytest.mark.parametrize("module", public_modules())
def test_every_public_module_has_an_api_page_entry(module):
    assert module in AUTOMODULES, f"no '.. automodule:: {module}' in docs/*.rst"


def test_the_front_door_page_has_an_entry_for_every_exported_name():
    page = (DOCS / "ensemble.rst").read_text()
    entries = set(re.findall(r"^\.\. py:(?:class|function):: (\w+)", page, re.M))
    assert entries == set(ensemble.__all__)


def test_every_page_is_in_the_index():
    index = (DOCS / "index.rst").read_text()
    listed = set(re.findall(r"^   (\w+)$", index, re.M))
    pages = {path.stem for path in DOCS.iterdir() if path.suffix in (".rst", ".md")} - {"index"}
    assert listed == pages
