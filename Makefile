# The two commands of the README: `make demo` (set up + main job) and `make test` (set up + tests).
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_OUT ?= runs/demo
DEMO_ARGS ?=

.PHONY: setup setup-dev demo lint test mutation clean
setup:
	@scripts/setup.sh
setup-dev:
	@scripts/setup.sh --dev

demo: setup
	$(PY) -m mdaug run --config quick --out $(DEMO_OUT) $(DEMO_ARGS)

lint: setup-dev
	$(VENV)/bin/ruff check .

test: lint
	$(PY) -m pytest -q

# Mutation testing of one module (docs/testing.md): make mutation MODULE=src/mdaug/data/classical.py
mutation: setup-dev
	$(PY) scripts/mutation.py $(MODULE)

clean:
	rm -rf $(VENV) .pytest_cache
