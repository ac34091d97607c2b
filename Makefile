# 联盟助手 — the README's commands. Only Python 3.11+ is needed; everything else goes into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test bench lint demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP) $@

run: $(STAMP)
	@test -f .env || cp .env.example .env
	$(PY) -m bot

test: $(TEST_STAMP)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(PY) -m bot demo

bench: $(TEST_STAMP)
	$(PY) -m bench

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check bot plugins tests bench
	$(VENV)/bin/ruff format --check bot plugins tests bench

clean:
	rm -rf $(VENV)
