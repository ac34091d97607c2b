# 联盟助手 — the README's commands. Only Python 3.11+ is needed; everything else goes into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test bench lint demo clean chromium fonts

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

run: $(STAMP) fonts
	@test -f .env || cp .env.example .env
	$(PY) -m bot

# Two workers (pytest-xdist): the end-to-end tests mostly wait on a bot process, so the suite takes half the time.
test: $(TEST_STAMP) chromium fonts
	$(PY) -m pytest -q -n 2 --durations=10

# The dashboard's browser test drives Debian's Chromium (no browser download); installed when we can, skipped otherwise.
CHROMIUM ?= /usr/bin/chromium

chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "chromium not installed: the dashboard browser test will be skipped"; fi; } || true

# Pictures (rankings, progress) are drawn with a CJK font: Debian's fonts-noto-cjk, installed when we can.
# Without one the bot answers in text and says so in its log; ALLIANCE_FONT may name another font file.
CJK_FONT ?= /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

fonts:
	@test -f $(CJK_FONT) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null; \
	  else echo "fonts-noto-cjk not installed: pictures fall back to text (set ALLIANCE_FONT to a CJK font)"; fi; } || true

demo: $(STAMP)
	$(PY) -m bot demo

bench: $(TEST_STAMP) fonts
	$(PY) -m bench
	$(PY) -m bench.pictures

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check alliance bot plugins sim tests bench
	$(VENV)/bin/ruff format --check alliance bot plugins sim tests bench

clean:
	rm -rf $(VENV)
