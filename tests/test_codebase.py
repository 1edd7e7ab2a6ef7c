"""The layout the README's "Working on the code" promises: one home for shared internals."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_MODULES = sorted(path.stem for path in (ROOT / "members" / "_shared").glob("*.py")
                        if path.stem != "__init__")


def python_files(*folders):
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


@pytest.mark.parametrize("path", python_files("ensemble", "benchmarks", "data"),
                         ids=lambda path: str(path.relative_to(ROOT)))
def test_other_packages_use_only_public_members_names_and_members_shared(path):
    for module, names in imported_modules(path):
        if module == "members":
            assert not [name for name in names if name.startswith("_")], (module, names)
        elif module.startswith("members."):
            assert module.startswith("members._shared"), module


def test_only_the_shared_writer_renames_files_into_place():
    writers = [path.relative_to(ROOT) for path in python_files("members", "ensemble")
               if "os.replace(" in path.read_text()]
    assert writers == [Path("members/_shared/files.py")]


def test_no_module_looks_another_one_up_in_sys_modules():
    lookups = [path.relative_to(ROOT) for path in python_files("members", "ensemble")
               if "sys.modules.get(" in path.read_text() or "sys.modules[" in path.read_text()]
    assert lookups == []


def test_the_shared_package_imports_no_tensorflow():
    imports = "; ".join(f"import members._shared.{name}" for name in SHARED_MODULES)
    code = f"import sys; {imports}; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
    assert len(SHARED_MODULES) >= 10
