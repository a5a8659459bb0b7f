# obcms: `make run` serves the app from nothing; `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app wsgi
STAMP  := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres lint migrate seed worker venv clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) obcms seed-demo --if-empty
	$(FLASK) run --host 127.0.0.1 --port $${PORT:-5000}

# SQLite always; PostgreSQL too when TEST_DATABASE_URL is set. Browser tests run in the SQLite pass.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	OBCMS_TEST_BACKEND=sqlite $(PY) -m pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== PostgreSQL pass =="; \
	  OBCMS_TEST_BACKEND=postgresql $(PY) -m pytest -m "not e2e"; \
	else echo "TEST_DATABASE_URL not set: PostgreSQL pass skipped"; fi

lint: $(STAMP)
	$(VENV)/bin/ruff check .

migrate: $(STAMP)
	$(FLASK) db upgrade

seed: $(STAMP)
	$(FLASK) obcms seed-demo

worker: $(STAMP)
	$(FLASK) obcms worker

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
