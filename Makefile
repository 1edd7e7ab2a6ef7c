# `make demo`, `make test` and `make docs` each do all their own set-up on a
# fresh machine: a virtual environment in .venv, the package installed editable
# with its test extras (and its docs extras for `make docs`), and the full
# Fashion-MNIST set from Debian when it is missing.

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
# Re-install only when the declared dependencies change.
INSTALLED := $(VENV)/.installed
DOCS_INSTALLED := $(VENV)/.installed-docs
FASHION_MNIST_DIR := /usr/share/datasets/fashion-mnist
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONUNBUFFERED := 1

.PHONY: test demo docs venv fashion-mnist benchmark clean

venv: $(INSTALLED)

$(VPY):
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): setup.cfg pyproject.toml | $(VPY)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e '.[dev]'
	touch $@

# Sphinx and its extensions, only for `make docs`; re-installed with the rest.
$(DOCS_INSTALLED): $(INSTALLED)
	$(VPY) -m pip install --quiet -e '.[docs]'
	touch $@

# The full data set is a Debian package; tests that check the bundled sample
# against it need it. Installing needs root, as on CI and developer machines.
fashion-mnist:
	@if [ ! -f $(FASHION_MNIST_DIR)/t10k-labels-idx1-ubyte.gz ]; then \
		echo "Installing Debian package dataset-fashion-mnist"; \
		apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null; \
	fi

# Three members trained once on the bundled sample, four combiners, one report.
demo: venv
	$(VPY) -m ensemble.demo

# The linter (ruff, configured in pyproject.toml), then the tests and the examples
# in the packages' docstrings (pyproject.toml's testpaths and --doctest-modules).
test: venv fashion-mnist
	$(VPY) -m ruff check .
	$(VPY) -m pytest -n 2 --dist worksteal --durations=25

# The API reference (docs/), every warning an error; open docs/_build/html/index.html.
docs: $(DOCS_INSTALLED)
	$(VPY) -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache docs/_build
