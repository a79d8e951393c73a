# Two commands do all set-up: `make demo` and `make test`.
# PYTHON: a command (python3.12), a path, or a version (3.12, 3.12.1) that
# .ci/find-python finds on PATH or among pyenv's installed versions.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NOW ?= 2026-11-24T09:00:30Z

.PHONY: demo test clean

$(BIN)/chat-recovery: pyproject.toml
	py=$$(.ci/find-python '$(PYTHON)') && "$$py" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[serve,test]'
	touch $@

demo: $(BIN)/chat-recovery
	@for set in examples/*/; do \
	  echo "== $$set: $$(cat $$set/README 2>/dev/null | head -n 1)"; \
	  $(BIN)/chat-recovery recover --now $(NOW) $$set*.json || exit 1; \
	done

test: $(BIN)/chat-recovery
	$(BIN)/python -m pytest -q
	$(BIN)/chat-recovery policy test rules --min-coverage 100
	$(BIN)/chat-recovery policy test rules --engine compiled --min-coverage 100

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
