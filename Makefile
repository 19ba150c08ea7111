# The few commands people type. Every target sets up .venv from the pinned requirements first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Where the functions' modules live, as Lambda lays them out (each CodeUri and the shared layer), plus the
# repo root for devtools/bench: written into the venv as a .pth file, so every tool and subprocess sees them.
IMPORT_ROOTS := . functions/shared functions/ingest functions/fanout functions/consumer
export AWS_ACCOUNT_ID_ENDPOINT_MODE := disabled
export SAM_CLI_TELEMETRY := 0

.PHONY: venv local test unit integration lint format events send numbers replay build validate deploy bench clean

$(BIN)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/python -c 'import pathlib, sys, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "twilio_inbound_dev.pth").write_text("".join(str(pathlib.Path(p).resolve()) + "\n" for p in sys.argv[1:]))' $(IMPORT_ROOTS)
	touch $@

venv: $(BIN)/.installed

local: venv ## Run the whole pipeline on this machine (emulated AWS, no Docker)
	$(BIN)/python -m devtools.local_stack $(ARGS)

test: venv lint ## Lint, type-check, then unit + integration tests
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

unit: venv
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

integration: venv
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

lint: venv ## ruff, mypy, cfn-lint and sam validate --lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy functions devtools tests bench
	$(BIN)/cfn-lint template.yaml
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/sam validate --lint

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

events: venv ## Regenerate events/ (signed with the documented test token)
	$(BIN)/python -m devtools.make_events

send: venv ## Send a signed test message: make send ARGS='--url http://127.0.0.1:3000/sms --body hi'
	$(BIN)/python -m devtools.cli send $(ARGS)

numbers: venv ## Manage registered numbers: make numbers ARGS='list' (add/update/enable/disable/remove/show)
	$(BIN)/python -m devtools.cli numbers $(ARGS)

replay: venv ## Republish stored messages: make replay ARGS='--from-dlq' (or --message-sid SM.. / --since ISO)
	$(BIN)/python -m devtools.cli replay $(ARGS)

validate: venv
	$(BIN)/sam validate --lint

build: venv ## sam build (needs python3.13 on PATH: PYENV_VERSION=3.11.7:3.13.0 make build)
	$(BIN)/sam build

deploy: build
	$(BIN)/sam deploy --guided

bench: venv
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) .aws-sam .local .pytest_cache .mypy_cache .ruff_cache
