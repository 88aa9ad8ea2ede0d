# duban — the two commands: `make run` and `make test`. Everything else is a step they take.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup services bench clean help

help:
	@echo "make run   — set up, import the seed plans and run the main job on the embedded defaults"
	@echo "make test  — set up and run the whole test suite (SQLite and PostgreSQL)"
	@echo "make bench — run the benchmarks (figures as JSON lines)"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,web]'
	touch $@

setup: $(STAMP)

# PostgreSQL runs as a machine service here and in CI; start it if it is down.
services:
	@pg_isready -h 127.0.0.1 -p 5432 -q || \
	  (pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && sleep 2)
	@pg_isready -h 127.0.0.1 -p 5432 || (echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1)

test: setup services
	$(BIN)/pytest

run: setup
	$(BIN)/duban calendar years

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var/*.db var/outbox build *.egg-info
