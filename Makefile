# duban — the two commands: `make run` and `make test`. Everything else is a step they take.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The main job on the embedded defaults: the seed year replayed with the demo scenario.
SEED_FROM := 2016-06-21
SEED_TO   := 2017-03-31
SCENARIO  := rules/scenarios/jieyang-2016-demo.yaml

.PHONY: run test setup services browser bench clean help

help:
	@echo "make run   — set up, import the seed plans, replay the seed year (emails into var/outbox), then serve"
	@echo "             the dashboard at http://127.0.0.1:8000 with printed demo accounts (Ctrl-C to stop)"
	@echo "make test  — set up and run the whole test suite (SQLite, PostgreSQL, SMTP, Chromium)"
	@echo "make bench — run the benchmarks (each ends with one JSON line)"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# setuptools prints one notice for every editable install of a package-dir mapping ("be careful
	@# with folders named like your package"); it is filtered by its text, every other warning shows
	@# (tests/test_packaging.py builds the wheel with warnings as errors).
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

setup: $(STAMP)

# PostgreSQL runs as a machine service here and in CI; start it if it is down.
services:
	@pg_isready -h 127.0.0.1 -p 5432 -q || \
	  (pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && sleep 2)
	@pg_isready -h 127.0.0.1 -p 5432 -q || (echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1)

# The system packages the tests use, from Debian: Chromium for the browser tests (never a downloaded
# browser build), Noto CJK for chart labels, sqlite3 for the docs' examples, dovecot for the IMAP test.
browser:
	@missing=""; \
	  test -x /usr/bin/chromium || missing="$$missing chromium"; \
	  test -d /usr/share/fonts/opentype/noto || missing="$$missing fonts-noto-cjk"; \
	  command -v sqlite3 >/dev/null || missing="$$missing sqlite3"; \
	  test -x /usr/sbin/dovecot || missing="$$missing dovecot-imapd"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian's$$missing (browser tests, Chinese glyphs in charts, the docs' sqlite3 examples, the IMAP inbox test)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	    systemctl disable --now dovecot >/dev/null 2>&1 || true; \
	  fi

test: setup services browser
	$(BIN)/pytest

run: setup
	$(BIN)/duban db upgrade
	$(BIN)/duban plan import
	$(BIN)/duban simulate --from $(SEED_FROM) --to $(SEED_TO) --scenario $(SCENARIO)
	@echo
	@echo "The seed year's reminder digests are in var/outbox/ ($$(ls var/outbox | wc -l) .eml files);"
	@echo "list them with: $(BIN)/duban notifications list"
	@echo
	$(BIN)/duban user demo
	@echo
	@echo "Dashboard: http://127.0.0.1:8000/home?as_of=2016-10-17  (the seed year; log in with a demo account; Ctrl-C to stop)"
	$(BIN)/duban serve

bench: setup services
	@PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install --quiet -c constraints.txt -e '.[test,bench]'
	@for b in bench/[a-z]*.py; do echo "== $$b" >&2; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var/*.db var/*.db-* var/outbox build *.egg-info
