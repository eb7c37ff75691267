# schoolgate: two commands do all the set-up.
#   make run   - create/reuse .venv, install, start the proxy on its embedded defaults
#   make test  - create/reuse .venv with test dependencies, run the whole suite
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
# Python 3.12: python3.12 on PATH if it really runs (a pyenv shim may not), else
# pyenv's newest 3.12 (a non-interactive shell often lacks pyenv on PATH).
PYTHON312 := $(shell for p in "$$(command -v python3.12 2>/dev/null)" \
	$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 2>/dev/null | sort -rV); do \
	[ -n "$$p" ] && "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null && { echo "$$p"; break; }; \
	done)

.PHONY: help run test check clean

help:
	@echo "make run   - start schoolgate on 127.0.0.1:8080 with the shipped policies"
	@echo "make test  - run the whole test suite"
	@echo "make check - validate settings, policies and lists"

$(VENV)/.python-ok:
	@if [ -z "$(PYTHON312)" ]; then \
	  echo "schoolgate needs Python 3.12: install it with pyenv ('pyenv install 3.12') or your distribution's python3.12 package, then run make again." >&2; \
	  exit 1; \
	fi
	@if [ ! -x $(VENV)/bin/python ] || ! $(VENV)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then \
	  rm -rf $(VENV); $(PYTHON312) -m venv $(VENV); \
	fi
	@touch $@

$(VENV)/.installed-run: pyproject.toml $(VENV)/.python-ok
	@deploy/build-deps.sh
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.python-ok
	@deploy/build-deps.sh
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(VENV)/bin/schoolgate run

check: $(VENV)/.installed-run
	$(VENV)/bin/schoolgate check

test: $(VENV)/.installed-test
	@tests/system-deps.sh
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
