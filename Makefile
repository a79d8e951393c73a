# Two commands do all set-up: `make demo` and `make test`.
# PYTHON: a command (python3.12), a path, or a version (3.12, 3.12.1) that
# .ci/find-python finds on PATH or among pyenv's installed versions.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NOW ?= 2026-11-24T09:00:30Z
DEMO_OUT ?= demo-out

.PHONY: demo lint test clean ui

$(BIN)/chat-recovery: pyproject.toml
	py=$$(.ci/find-python '$(PYTHON)') && "$$py" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[serve,test]'
	touch $@

# One short summary per example; the full recoveries go to $(DEMO_OUT)/<example>.json.
demo: $(BIN)/chat-recovery
	@mkdir -p $(DEMO_OUT)
	@for set in examples/*/; do \
	  name=$$(basename $$set); \
	  echo "== $$name: $$(head -n 1 $${set}README 2>/dev/null)"; \
	  $(BIN)/chat-recovery recover --now $(NOW) $$set*.json > $(DEMO_OUT)/$$name.json || exit 1; \
	  $(BIN)/chat-recovery recover --now $(NOW) --format summary $$set*.json || exit 1; \
	done
	@echo "== the full recoveries (JSON): $(DEMO_OUT)/<example>.json"

# The linters (settings in pyproject.toml): ruff's rules, the formatter's
# layout, mypy (strict on policy/, recovery/, replay/), no dead code.
LINT_STEPS = "$(BIN)/python -m ruff check engine tests" \
             "$(BIN)/python -m ruff format --check --output-format concise engine tests" \
             "$(BIN)/python -m mypy" \
             "$(BIN)/python -m vulture"

# Every step runs even when one before it failed (a red pytest used to hide
# the shipped policy suites); make fails if any step did.
TEST_STEPS = $(LINT_STEPS) \
             "$(BIN)/python -m pytest -q" \
             "$(BIN)/chat-recovery policy test rules --min-coverage 100" \
             "$(BIN)/chat-recovery policy test rules --engine compiled --min-coverage 100"

RUN_STEPS = failed=0; for step in $(1); do echo "$$step"; $$step || failed=1; done; exit $$failed

lint: $(BIN)/chat-recovery
	@$(call RUN_STEPS,$(LINT_STEPS))

test: $(BIN)/chat-recovery
	@$(call RUN_STEPS,$(TEST_STEPS))

# The playground's page (playground-ui/) bundled into the package, where it is
# committed: pip install and make demo need no Node; only a change to the page does.
ui:
	cd playground-ui && npm ci --no-audit --no-fund && node build.mjs

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .hypothesis .mypy_cache
