# Two set-up commands for a newcomer: `make demo` and `make test`. Both create .venv by themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench lint screenshots clean lab-up lab-down

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -U pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

demo: $(STAMP)
	$(BIN)/ccci-tui --demo

# The whole suite: brings the lab swarm and the two-node lab up first (live and multinode tests skip
# without them unless CCCI_REQUIRE_SWARM=1).
test: $(STAMP)
	@scripts/swarm-lab up || { [ -z "$$CCCI_REQUIRE_SWARM" ] || exit 1; echo "swarm-lab: unavailable, live tests will skip"; }
	@scripts/swarm-lab multi-up || { [ -z "$$CCCI_REQUIRE_SWARM" ] || exit 1; echo "swarm-lab: two-node lab unavailable, multinode tests will skip"; }
	$(BIN)/python -m pytest -n 3 --dist worksteal -m "not serial"
	$(BIN)/python -m pytest -m serial

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not live"

bench: $(STAMP)
	@scripts/swarm-lab up
	$(BIN)/python -m bench

# screenshots/*.svg from the bundled demo recording (the scenes of the snapshot tests)
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots

lint: $(STAMP)
	$(BIN)/ruff check ccci_tui tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

lab-up:
	scripts/swarm-lab up

lab-down:
	scripts/swarm-lab down

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis .import_linter_cache
