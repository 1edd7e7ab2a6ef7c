"""`make demo` runs ensemble.demo: a tiny run of the same code path prints every row."""

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_trains_three_members_once_and_reports_five_combiners():
    result = subprocess.run(
        [sys.executable, "-m", "ensemble.demo", "--epochs", "1", "--n-train", "300",
         "--n-jobs", "1", "--quiet"],
        capture_output=True, text=True, timeout=600, check=True,
    )
    out = result.stdout
    assert "(3 network fits)" in out
    for row in ("plain", "separable", "residual", "chosen weights", "log-loss weights",
                "equal weights", "Caruana selection", "stacking (logistic)"):
        assert f"\n{row}" in out, row
    assert "\nBlend: " in out and "\nAgainst its best member (" in out


def test_makefile_and_readme_promise_the_two_commands():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    makefile = (root / "Makefile").read_text()
    assert "\ndemo:" in makefile and "\ntest:" in makefile
    assert "ensemble.demo" in makefile
    readme = (root / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block
    assert "make test" in (root / ".ci" / "run").read_text()


def test_readme_names_every_notebook_and_every_cli_command():
    from pathlib import Path

    from ensemble.cli import build_parser

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    for notebook in sorted((root / "notebooks").glob("*.ipynb")):
        assert f"`{notebook.name}`" in readme, notebook.name
    commands = build_parser()._subparsers._group_actions[0].choices
    for command in commands:
        assert f"keras-ensembles {command} " in readme, command


def test_demo_members_get_their_own_epochs_unless_one_is_given():
    from ensemble.demo import DEMO_EPOCHS, default_members

    members = dict(default_members(seed=3))
    assert {name: member.epochs for name, member in members.items()} == DEMO_EPOCHS
    assert [member.random_state for member in members.values()] == [3, 4, 5]
    assert all(member.horizontal_flip for member in members.values())
    assert {member.epochs for _, member in default_members(epochs=2)} == {2}
