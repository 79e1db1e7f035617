# Spares: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 5000
PYTEST_WORKERS ?= 2
# Packages with a message catalogue of their own (<package>/translations).
CATALOGUES := core depots inventory rma planning reports search
ZH := zh_Hans_CN

.PHONY: run test drill fuzz lint format venv catalogues messages bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Spares needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

# Compiled catalogues (.mo) are build output: made here, never committed.
catalogues: venv
	@for p in $(CATALOGUES); do \
		if [ -f $$p/translations/$(ZH)/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel compile --statistics -d $$p/translations -l $(ZH) 2>&1 | tail -n 1 || exit 1; \
		fi; \
	done

# Extract every package's strings and update (or start) its Chinese catalogue.
messages: venv
	@for p in $(CATALOGUES); do \
		mkdir -p $$p/translations; \
		$(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k ngettext:1,2 \
			--sort-by-file -o $$p/translations/messages.pot $$p; \
		if [ -f $$p/translations/$(ZH)/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel -q update --no-fuzzy-matching -i $$p/translations/messages.pot -d $$p/translations -l $(ZH); \
		else \
			$(BIN)/pybabel -q init -i $$p/translations/messages.pot -d $$p/translations -l $(ZH); \
		fi; \
	done

run: venv catalogues
	$(BIN)/spares db upgrade
	$(BIN)/spares demo --if-empty
	@echo ""
	@echo "Demo logins (password: spares-demo): admin, planner, supervisor,"
	@echo "  engineers: engineer chen.jie liu.yang zhao.lei"
	@echo "  depot staff: staff-bj staff-sh staff-gz staff-cd staff-wh staff-xa staff-sy staff-jn"
	@echo "Serving on http://127.0.0.1:$(PORT)  (API docs: /api/v1/swagger)"
	PORT=$(PORT) $(BIN)/spares serve --port $(PORT)

test: venv catalogues
	tools/ensure-chromium.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider

# The cross-domain state machine and the race drills, run long (minutes, not seconds);
# SPARES_DRILL_LONG: the multi-server drill writes and kills longer, and the crash drill
# restarts a PostgreSQL cluster of its own (never the shared test server).
drill: venv
	SPARES_MACHINE_EXAMPLES=$${SPARES_MACHINE_EXAMPLES:-200} SPARES_MACHINE_STEPS=$${SPARES_MACHINE_STEPS:-60} \
		SPARES_BACKUP_DRILL_SECONDS=$${SPARES_BACKUP_DRILL_SECONDS:-120} \
		SPARES_DRILL_LONG=1 \
		$(BIN)/pytest -p no:cacheprovider tests/seams/test_cross_domain_machine.py tests/drills

# schemathesis against every API operation as each role, many rounds with a fresh seed
# (the suite runs one repeatable round); figures in docs/RELIABILITY.md.
fuzz: venv
	SPARES_FUZZ_ROUNDS=$${SPARES_FUZZ_ROUNDS:-25} SPARES_FUZZ_SEED=$${SPARES_FUZZ_SEED:-$$(date +%s)} \
		$(BIN)/pytest -p no:cacheprovider -s tests/core/test_api_conformance.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache test-artifacts
