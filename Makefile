# Two commands: `make run` and `make test`. Both install what they need first.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: run test test-dates install schema bench image clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/datastorage serve

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)
	$(BIN)/python -m tests.pinned_dates

# Only the date-sensitive tests (marker `calendar`), once per pinned clock
# (needs libfaketime: apt-get install faketime).
test-dates: $(STAMP)
	$(BIN)/python -m tests.pinned_dates

# Regenerate sql/schema/schema.sql from the migrations (a test compares).
schema: $(STAMP)
	$(BIN)/python -m tests.schema_dump > sql/schema/schema.sql

# The container image, built with buildah from the project's wheel
# (BASE_IMAGE=..., BUILDAH_ARGS=--pull=never to use a local base image).
image: $(STAMP)
	PYTHON=$(BIN)/python deploy/image/build

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) *.egg-info
