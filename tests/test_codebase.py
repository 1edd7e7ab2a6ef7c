"""The layout docs/architecture.rst describes, enforced: packages by idea, private names kept home.

Three rules:

* **Private stays home.** A module or name whose path has a segment starting
  with ``_`` (``ensemble.combiners._base``, ``weights._as_member_stack``) is
  private to the package that holds it: only code inside that package (or
  below it) may import it. Everything else goes through public names:
  ``members.utils`` is the one documented home of shared internals.
* **Layers point one way.** Each sub-package imports only the packages its
  ``__init__`` docstring says it may (``ALLOWED`` below mirrors them).
* **Optuna through its public API only**: no ``optuna.<...>._private``.
"""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("ensemble", "members")
UTILS_MODULES = sorted(path.stem for path in (ROOT / "members" / "utils").glob("*.py")
                       if path.stem != "__init__")

#: Unit -> the project units it may import. A unit is a sub-package of
#: ``ensemble`` (``ensemble.combiners``), ``members.utils``, ``members`` (the
#: members package apart from utils) or ``ensemble`` (its top-level modules).
ALLOWED = {
    "members.utils": set(),
    "members": {"members.utils"},
    "ensemble.evaluation": {"members.utils", "ensemble.datasets"},
    "ensemble.datasets": {"members.utils"},
    "ensemble.combiners": {"members", "members.utils", "ensemble.evaluation"},
    "ensemble.prediction_files": {"members.utils", "ensemble.evaluation", "ensemble.combiners"},
    "ensemble.persistence": {"members", "members.utils", "ensemble.combiners"},
    "ensemble.tuning": {"members", "members.utils", "ensemble.combiners", "ensemble.evaluation"},
    "ensemble.export": {"members", "members.utils", "ensemble.combiners"},
    "ensemble.cli": {"members", "members.utils", "ensemble", "ensemble.combiners",
                     "ensemble.datasets", "ensemble.evaluation", "ensemble.prediction_files",
                     "ensemble.persistence", "ensemble.tuning", "ensemble.export"},
    "ensemble": {"members", "members.utils", "ensemble.cli", "ensemble.datasets"},
}


def python_files(*folders):
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path):
    """``(module, name)`` for each project import in a file (name ``None``: ``import m``)."""
    tree = ast.parse(path.read_text())
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            if module.split(".")[0] in PROJECT:
                for alias in node.names:
                    yield module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PROJECT:
                    yield alias.name, None


def notebook_imports(path):
    code = "\n".join("".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]
                     if cell["cell_type"] == "code")
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("!", "%")))
    probe = ROOT / "notebooks" / ".probe.py"
    probe.write_text(code)
    try:
        return list(imports(probe))
    finally:
        probe.unlink()


def is_private(segment):
    return segment.startswith("_") and not segment.startswith("__")


def is_package(dotted):
    return (ROOT / Path(*dotted.split(".")) / "__init__.py").exists()


def owner_of_private(dotted):
    """The package that owns the first private segment of a dotted path, or ``None``.

    A private module belongs to the package that holds it; a private name in
    a module belongs to that module's package (the sibling modules may share
    it: "no private name across a module boundary outside its own package").
    """
    parts = dotted.split(".")
    for index, segment in enumerate(parts):
        if is_private(segment):
            owner = ".".join(parts[:index])
            return owner if is_package(owner) or "." not in owner else owner.rpartition(".")[0]
    return None


def inside(module, package):
    return module == package or module.startswith(package + ".")


def private_imports_from_outside(importer, imported):
    refused = []
    for module, name in imported:
        full = f"{module}.{name}" if name else module
        owner = owner_of_private(full)
        if owner is not None and not inside(importer, owner):
            refused.append(full)
    return refused


def unit_of(module):
    parts = module.split(".")
    if parts[0] == "members":
        return "members.utils" if parts[1:2] == ["utils"] else "members"
    if len(parts) > 1 and (ROOT / "ensemble" / parts[1]).is_dir():
        return ".".join(parts[:2])
    return "ensemble"


def imported_unit(module, name):
    """The unit an import reaches (``from ensemble import combiners``: ``ensemble.combiners``)."""
    if name is not None:
        candidate = ROOT / Path(*f"{module}.{name}".split("."))
        if candidate.is_dir() or candidate.with_suffix(".py").exists():
            return unit_of(f"{module}.{name}")
    return unit_of(module)


PACKAGE_FILES = python_files(*PROJECT)
OUTSIDE_FILES = python_files("benchmarks", "data")


@pytest.mark.parametrize("path", PACKAGE_FILES + OUTSIDE_FILES,
                         ids=lambda path: str(path.relative_to(ROOT)))
def test_no_private_module_or_name_is_imported_from_outside_its_package(path):
    assert private_imports_from_outside(module_name(path), imports(path)) == []


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")),
                         ids=lambda path: path.name)
def test_notebooks_use_only_public_names(path):
    assert private_imports_from_outside("notebooks", notebook_imports(path)) == []


@pytest.mark.parametrize("path", PACKAGE_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_each_package_imports_only_what_its_docstring_allows(path):
    unit = unit_of(module_name(path))
    reached = {imported_unit(module, name) for module, name in imports(path)} - {unit}
    assert reached <= ALLOWED[unit], f"{unit} may not import {sorted(reached - ALLOWED[unit])}"


@pytest.mark.parametrize("unit", sorted(set(ALLOWED) - {"ensemble", "members"}))
def test_each_sub_package_says_what_lives_there_and_what_it_may_import(unit):
    docstring = ast.get_docstring(ast.parse((ROOT / Path(*unit.split(".")) / "__init__.py")
                                            .read_text()))
    assert "What lives here" in docstring or "Modules" in docstring
    assert "may import" in docstring


def test_the_rules_catch_what_they_are_for():
    """The checks above would fail on the imports this layout replaced."""
    assert private_imports_from_outside(
        "ensemble.cli.tune", [("ensemble.tuning._study", "check_sampler")]) == [
        "ensemble.tuning._study.check_sampler"]
    assert private_imports_from_outside(
        "ensemble.tuning._search", [("ensemble.combiners._blending_rows", "check_source")])
    assert private_imports_from_outside("ensemble.combiners.averaging",
                                        [("ensemble.combiners.weights", "_as_member_stack")]) == []
    assert imported_unit("ensemble", "combiners") == "ensemble.combiners"
    assert not {"ensemble.cli"} <= ALLOWED["ensemble.combiners"]


@pytest.mark.parametrize("path", python_files(*PROJECT, "benchmarks", "tests"),
                         ids=lambda path: str(path.relative_to(ROOT)))
def test_optuna_is_used_through_its_public_api_only(path):
    text = path.read_text()
    private = re.findall(r"\boptuna(?:\.[A-Za-z]\w*)*\._\w+", text)
    assert [name for name in private if not name.endswith("__")] == []
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("optuna"):
            assert owner_of_private(node.module) is None, node.module
            assert not [alias.name for alias in node.names if is_private(alias.name)]


def test_only_the_shared_writer_renames_files_into_place():
    writers = [path.relative_to(ROOT) for path in python_files(*PROJECT)
               if "os.replace(" in path.read_text()]
    assert writers == [Path("members/utils/files.py")]


def test_no_module_looks_another_one_up_in_sys_modules():
    lookups = [path.relative_to(ROOT) for path in python_files(*PROJECT)
               if "sys.modules.get(" in path.read_text() or "sys.modules[" in path.read_text()]
    assert lookups == []


def test_the_shared_utilities_import_no_tensorflow():
    imports_ = "; ".join(f"import members.utils.{name}" for name in UTILS_MODULES)
    code = f"import sys; {imports_}; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
    assert len(UTILS_MODULES) >= 10


@pytest.mark.parametrize("old, new", [
    ("ensemble.metrics", "ensemble.evaluation.metrics"),
    ("ensemble.weights", "ensemble.combiners"),
    ("ensemble.predictions", "ensemble.prediction_files.files"),
])
def test_old_public_module_paths_still_import_with_a_warning(old, new):
    code = (f"import warnings, importlib; warnings.simplefilter('error', FutureWarning)\n"
            f"try:\n    importlib.import_module({old!r})\n"
            f"except FutureWarning as warning:\n    print(warning)\n"
            f"warnings.simplefilter('ignore')\n"
            f"print(importlib.import_module({old!r}) is importlib.import_module({new!r}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    warning, same = result.stdout.strip().splitlines()
    assert f"{old} moved to {new}" in warning
    assert same == "True"
