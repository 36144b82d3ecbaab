# The set-up commands of the README: `make demo`, `make test` and `make bench`.
# Each creates the virtual environment (.venv) when it is missing or older than pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= demo-out

.PHONY: demo test bench faults type2 fuzz lint install-check clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# The sample company denies the auditor one project and has an API disabled in another, on
# purpose, so the demo ends with exit code 3 (collection incomplete); anything else is an error.
demo: $(VENV)/.installed
	$(VENV)/bin/auditor demo --out $(OUT) --replace || test $$? -eq 3

# One pytest-xdist worker per CPU; --dist loadfile keeps each test module on one worker, so a module's
# fixtures are built once (tests/conftest.py shares the sample pack across workers).
test: $(VENV)/.installed
	NO_GCE_CHECK=True $(PY) -m pytest -n auto --dist loadfile

# The whole differential fault matrix (tests/test_fault_differential.py): every call of the sample's
# collection under every fault outcome, and a longer property search (the suite runs a slice).
faults: $(VENV)/.installed
	FAULT_MATRIX=full NO_GCE_CHECK=True $(PY) -m pytest tests/test_fault_differential.py -p no:logging -s

# Issue 13's day-by-day tests over 92 daily lockers: retention (about 70 s), the source-code controls (about 20 s)
# and bucket retention (about 30 s, twice); the suite skips them and runs their single-run and few-locker forms.
type2: $(VENV)/.installed
	TYPE2_DAILY=full NO_GCE_CHECK=True $(PY) -m pytest tests/test_type2_retention.py tests/test_type2_source.py tests/test_bucket_history.py

# The linter (ruff, from the test extra), with the rules in pyproject.toml.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check auditor checks reports templates tests benchmarks

# The input fuzz test (tests/test_input_fuzz.py) with more examples per reader than the suite's 40.
fuzz: $(VENV)/.installed
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} NO_GCE_CHECK=True $(PY) -m pytest tests/test_input_fuzz.py -q

# The scale benchmark (README "Scale"): a 200-project synthetic organisation, 50 ms per request.
bench: $(VENV)/.installed
	NO_GCE_CHECK=True $(PY) benchmarks/run.py $(BENCH_ARGS)

# The wheel with all its dependencies from the package index in a fresh virtual environment, then
# `auditor demo` from it (tests/test_install.py; the suite runs a faster variant that borrows .venv's dependencies).
install-check: $(VENV)/.installed
	AUDITOR_INSTALL_CHECK=full NO_GCE_CHECK=True $(PY) -m pytest tests/test_install.py -p no:xdist

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
