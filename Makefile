# Two commands for a new user:  make book  and  make test  (see README.md).
SHELL := /bin/bash

PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
# Optional: an index for the torch wheel only, e.g. TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
PROFILE ?= full
PYTEST_ARGS ?=
# NO_BROWSER=1 skips the check of the built pages in headless Chromium (and its installation).
NO_BROWSER ?=

.PHONY: venv book browser test clean

venv: $(STAMP)

# torch goes first, exactly pinned: any other version or an open range pulls gigabytes of CUDA.
# Re-installs only when requirements.txt or pyproject.toml changed (or the venv is missing).
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info >= (3, 11), f"Python >= 3.11 needed, $(PY) is {sys.version.split()[0]}"'
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install "torch==2.13.0" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -r requirements.txt -e ".[book,test]"
	@touch $@

book: venv browser
	$(PY) scripts/build_book.py --profile $(PROFILE) $(if $(NO_BROWSER),--no-browser)

# Headless Chromium for the browser check of the built book (scripts/browser_check.py).
# Installed only where that is safe: missing, running as root, apt-get present, no prompt.
# Anywhere else (or if the install fails) the build goes on and says the check was skipped.
browser:
	@if [ -n "$(NO_BROWSER)" ] || [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the browser check (apt-get, non-interactive)"; \
		( export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && \
		  apt-get install -y -qq chromium >/dev/null ) || \
		echo "note: could not install chromium; the browser check will be skipped"; \
	else \
		echo "note: no /usr/bin/chromium; the browser check will be skipped" \
		     "(install it: sudo apt-get install -y chromium)"; \
	fi

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf _build .pytest_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
