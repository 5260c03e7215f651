# Two commands do all set-up: `make run` serves the API with seeds loaded; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint audit lock bench clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/newsdesk serve

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app

audit: $(STAMP)
	$(BIN)/pip-audit --strict --progress-spinner off -r requirements.lock

lock:
	rm -rf /tmp/newsdesk-lock && $(PYTHON) -m venv /tmp/newsdesk-lock
	/tmp/newsdesk-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/newsdesk-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) *.egg-info
