# `make demo` and `make test` each do all their own set-up on a fresh machine:
# a virtual environment in .venv, the package installed editable with its test
# extras, and the full Fashion-MNIST set from Debian when it is missing.

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
# Re-install only when the declared dependencies change.
INSTALLED := $(VENV)/.installed
FASHION_MNIST_DIR := /usr/share/datasets/fashion-mnist
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONUNBUFFERED := 1

.PHONY: test demo venv fashion-mnist benchmark clean

venv: $(INSTALLED)

$(VPY):
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): setup.cfg pyproject.toml | $(VPY)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e '.[dev]'
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

test: venv fashion-mnist
	$(VPY) -m pytest -n 2 --dist worksteal --durations=25

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
