# The two commands of the README: `make run` and `make test`.  Each creates
# .venv (once) and installs the project into it, so nothing depends on what
# was installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench reliability clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/chemo validate regimens/
	$(BIN)/chemo dose doxorubicin-ifosfamide --height "170 cm" --weight "75 kg"
	$(BIN)/chemo tui

# The suite in parallel (pytest-xdist): TEST_WORKERS processes, each with its own temporary
# folders, SQLite files, chemo cache and PostgreSQL schemas (tests/conftest.py).  3 on a 2-core
# machine: the suite waits on subprocesses and the database a good part of the time, and 3
# workers were faster there than 2 or 4.  `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= 3

test: $(STAMP)
	$(BIN)/python -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadgroup)

# Benchmarks and the fault suite (docs/promises.md).  `make bench QUICK=1` uses
# small sizes; `make bench PATIENTS=N` sizes the store benchmark's database.
# `make reliability QUICK=1` runs the small slice that CI runs through pytest.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(if $(QUICK),--quick) $(if $(PATIENTS),--patients $(PATIENTS))

reliability: $(STAMP)
	$(BIN)/python -m reliability.run $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) build *.egg-info
