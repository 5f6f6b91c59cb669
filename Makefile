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

clean:
	rm -rf $(VENV) build *.egg-info
