# The few commands people type. Every target sets up .venv from the pinned requirements first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# checkov lives in a venv of its own: it pins boto3, packaging and networkx older than requirements.txt.
CHECKOV_VENV := $(VENV)/tools/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
# Where the functions' packages live, as Lambda lays them out (each CodeUri and the shared layer), plus the
# repo root for devtools/bench/tests: written into the venv as a .pth file, so every tool and subprocess sees
# them. Each CodeUri holds one package named after its function, so no module name is ambiguous. The operator
# CLI (cli/) is installed editable, which puts `twilio-inbound` on the venv's PATH. clients/python is the
# subscribers' package (twilio_inbound_client), as a service or the consumer function has it installed.
IMPORT_ROOTS := . functions/shared functions/ingest functions/fanout functions/consumer functions/media functions/reconcile functions/status functions/sender clients/python
export AWS_ACCOUNT_ID_ENDPOINT_MODE := disabled
export SAM_CLI_TELEMETRY := 0
export NO_MKDOCS_2_WARNING := 1

.PHONY: venv twilio-openapi typescript generate browser mermaid contract local test iam-docs unit integration lint format events send send-sms numbers replay build validate deploy bench bench-media load docs docs-serve reference clean

$(BIN)/.installed: requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps --editable .
	$(BIN)/python -c 'import pathlib, sys, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "twilio_inbound_dev.pth").write_text("".join(str(pathlib.Path(p).resolve()) + "\n" for p in sys.argv[1:]))' $(IMPORT_ROOTS)
	touch $@

venv: $(BIN)/.installed

# Twilio's OpenAPI description (npm @twilio/cli-core, pinned; never committed): the Twilio API stand-in
# (devtools/twilio_api) is checked against it. The two files' SHA-256 are pinned too.
TWILIO_CLI_CORE := 9.0.0
TWILIO_OPENAPI := $(VENV)/twilio-openapi
TWILIO_OPENAPI_SHA256 := twilio_api_v2010.json 170b3ccd0f891416840083d72f1795b1499b14a18d4873fd2b39f47ef84642d6 \
	twilio_messaging_v1.json 611c6fde586347615039a7d8c87a4b10d39c6d8566b7d1a691353ef995aaa473 \
	twilio_content_v1.json 572629da3287c5acf114d7f026f05798bc583bcc2badede87611f3490ba9de5a

# The marker names the set of files: a checkout that fetched fewer fetches again.
TWILIO_OPENAPI_FETCHED := $(TWILIO_OPENAPI)/.fetched-api-messaging-content
$(TWILIO_OPENAPI_FETCHED):
	@command -v npm >/dev/null || { echo "error: npm (Node.js) is needed to fetch Twilio's OpenAPI description (@twilio/cli-core@$(TWILIO_CLI_CORE)): install Node.js" >&2; exit 1; }
	rm -rf $(TWILIO_OPENAPI) $(TWILIO_OPENAPI).tmp && mkdir -p $(TWILIO_OPENAPI).tmp
	cd $(TWILIO_OPENAPI).tmp && npm pack --silent @twilio/cli-core@$(TWILIO_CLI_CORE) >/dev/null \
	  && tar -xzf twilio-cli-core-$(TWILIO_CLI_CORE).tgz --strip-components=4 \
	     package/src/services/twilio-api/twilio_api_v2010.json package/src/services/twilio-api/twilio_messaging_v1.json \
	     package/src/services/twilio-api/twilio_content_v1.json \
	  && rm twilio-cli-core-$(TWILIO_CLI_CORE).tgz \
	  && $(PYTHON) -c 'import hashlib, sys; pairs = zip(sys.argv[1::2], sys.argv[2::2]); bad = [name for name, digest in pairs if hashlib.sha256(open(name, "rb").read()).hexdigest() != digest]; sys.exit(f"error: unexpected content in {bad}" if bad else 0)' $(TWILIO_OPENAPI_SHA256)
	mv $(TWILIO_OPENAPI).tmp $(TWILIO_OPENAPI) && touch $@

twilio-openapi: $(TWILIO_OPENAPI_FETCHED)

# Mermaid's browser bundle (npm, pinned with its SHA-256; never committed): the docs site serves it itself, so
# the material theme never fetches it from a CDN when a page with a diagram is viewed.
MERMAID := 11.17.2
MERMAID_JS := $(VENV)/mermaid/mermaid.min.js
MERMAID_SHA256 := 581ed7d74bd9048d0e3a91363927d72ef22942d7722546b27f7cc29e35390eb8

$(MERMAID_JS): | $(BIN)/.installed
	@command -v npm >/dev/null || { echo "error: npm (Node.js) is needed to fetch mermaid@$(MERMAID) for the docs' diagrams: install Node.js" >&2; exit 1; }
	rm -rf $(VENV)/mermaid.tmp && mkdir -p $(VENV)/mermaid.tmp
	cd $(VENV)/mermaid.tmp && npm pack --silent mermaid@$(MERMAID) >/dev/null \
	  && tar -xzf mermaid-$(MERMAID).tgz --strip-components=2 package/dist/mermaid.min.js \
	  && echo "$(MERMAID_SHA256)  mermaid.min.js" | sha256sum --check --quiet \
	  && rm mermaid-$(MERMAID).tgz
	rm -rf $(VENV)/mermaid && mv $(VENV)/mermaid.tmp $(VENV)/mermaid

mermaid: $(MERMAID_JS)

# The TypeScript types' generator and compiler (clients/typescript), from its lockfile.
TYPESCRIPT_CLIENT := clients/typescript
$(TYPESCRIPT_CLIENT)/node_modules/.installed: $(TYPESCRIPT_CLIENT)/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm (Node.js) is needed to generate and check the TypeScript types: install Node.js" >&2; exit 1; }
	cd $(TYPESCRIPT_CLIENT) && npm ci --silent --no-audit --no-fund
	touch $@

typescript: $(TYPESCRIPT_CLIENT)/node_modules/.installed

generate: venv typescript ## From schemas/: the client package's models, the TypeScript types, the schema registry's documents
	$(BIN)/python -m devtools.codegen

# The browser tests (the console's, and the docs site's diagrams) drive Debian's Chromium through its own
# chromedriver, never a downloaded browser: installed with apt-get where missing (as root), else those tests
# are skipped and say why.
CHROMIUM_PACKAGES := chromium chromium-driver

browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Chromium for the console's browser tests: apt-get install $(CHROMIUM_PACKAGES)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CHROMIUM_PACKAGES) >/dev/null; } \
	    || echo "note: apt-get could not install $(CHROMIUM_PACKAGES): the console's browser tests will be skipped"; \
	else echo "note: no chromium and chromedriver here, and no root apt-get to install them: the console's browser tests will be skipped"; fi

contract: venv twilio-openapi ## The Twilio API stand-in against Twilio's OpenAPI description, through the twilio SDK
	$(BIN)/python -m pytest tests/contract $(PYTEST_ARGS)

$(CHECKOV): | $(BIN)/.installed
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==3.3.30

local: venv twilio-openapi ## Run the whole pipeline on this machine (emulated AWS, no Docker)
	$(BIN)/python -m devtools.local_stack $(ARGS)

test: venv lint twilio-openapi typescript browser mermaid ## Lint, type-check, unit + integration tests, the docs site (strict), the benchmark's deterministic figures
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

unit: venv twilio-openapi typescript mermaid browser
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

integration: venv twilio-openapi browser
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

# Stacks a subscriber deploys beside the main one (docs/eventbridge.md): linted and scanned as template.yaml is.
SUBSCRIBER_TEMPLATES := subscribers/https-subscriber.yaml

lint: venv $(CHECKOV) ## ruff, mypy, bandit, cfn-lint, sam validate --lint, checkov
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/bandit -q -r functions cli
	$(BIN)/bandit -q -r devtools bench -s B404,B603 2>/dev/null  # dev tools start this repo's own processes
	$(BIN)/cfn-lint template.yaml $(SUBSCRIBER_TEMPLATES)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/sam validate --lint
	for extra in $(SUBSCRIBER_TEMPLATES); do AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/sam validate --lint -t $$extra || exit 1; done
	$(CHECKOV) --config-file .checkov.yaml -f template.yaml $(addprefix -f ,$(SUBSCRIBER_TEMPLATES))

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

events: venv ## Regenerate events/ (signed with the documented test token)
	$(BIN)/python -m devtools.make_events

send: venv ## Send a signed test message: make send ARGS='--url http://127.0.0.1:3000/sms --body hi'
	$(BIN)/twilio-inbound send $(ARGS)

send-sms: venv ## Send through the stack: make send-sms ARGS='--from support-line --to +15005550006 --body hi --wait 30'
	$(BIN)/twilio-inbound send-sms $(ARGS)

numbers: venv ## Manage registered numbers: make numbers ARGS='list' (add/update/enable/disable/remove/show)
	$(BIN)/twilio-inbound numbers $(ARGS)

replay: venv ## Republish stored messages: make replay ARGS='--from-dlq' (or --message-sid SM.. / --since ISO)
	$(BIN)/twilio-inbound replay $(ARGS)

validate: venv
	$(BIN)/sam validate --lint

build: venv ## sam build (needs python3.13 on PATH: PYENV_VERSION=3.11.7:3.13.0 make build)
	$(BIN)/sam build

deploy: build
	$(BIN)/sam deploy --guided

iam-docs: venv ## docs/IAM.md's grants and operator policies, from the last full `make test` (.local/iam-record.json)
	$(BIN)/python -m devtools.iam.report

bench: venv ## Cold init, warm CPU, memory, package size against the SDK floor; exits 1 on a missed target (ARGS=--quick)
	$(BIN)/python -m bench $(ARGS)

bench-media: venv ## Peak memory of the media function archiving 10 x 100 MB (bench/media_rss.py --help)
	$(BIN)/python -m bench.media_rss $(ARGS)

load: venv ## 5,000 signed messages at concurrency 32 through a local stack of its own (devtools/load.py --help)
	$(BIN)/python -m devtools.load --start $(ARGS)

DOCS_PORT ?= 8000

docs: venv mermaid ## Build the documentation site into site/ (strict: a broken link, a missing or stale page fails)
	$(BIN)/mkdocs build --strict

docs-serve: venv mermaid ## Serve the documentation site on http://127.0.0.1:$(DOCS_PORT), rebuilt on every change
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:$(DOCS_PORT)

reference: venv ## Regenerate docs/reference/ from schemas/, the CLI's parser and template.yaml
	$(BIN)/python -m devtools.docs_reference

clean:
	rm -rf $(VENV) .aws-sam .local .pytest_cache .mypy_cache .ruff_cache site $(TYPESCRIPT_CLIENT)/node_modules
