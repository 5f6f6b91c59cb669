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

test: $(STAMP)
	$(BIN)/python -m pytest

# Benchmarks and the fault suite (docs/promises.md).  `make bench QUICK=1` uses
# small sizes; `make bench PATIENTS=N` sizes the store benchmark's database.
# `make reliability QUICK=1` runs the small slice that CI runs through pytest.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(if $(QUICK),--quick) $(if $(PATIENTS),--patients $(PATIENTS))

reliability: $(STAMP)
	$(BIN)/python -m reliability.run $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) build *.egg-info
