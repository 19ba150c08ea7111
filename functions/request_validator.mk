# Shared by the Makefiles of the functions that verify Twilio's signature (ingest, status): `sam build` ships the
# function's package and the one module of twilio it uses, request_validator (stdlib only), instead of the whole
# SDK and its dependencies (aiohttp, requests, ...: ~40 MB that never load). The version comes from the
# function's requirements.txt. Bytecode for the runtime's Python is included: /var/task is read-only, so without
# it every cold start compiles these modules again. Needs python3.13 (the template's runtime), as sam build does
# for the layer. twilio's license travels with the code, and its METADATA keeps the version visible to
# importlib.metadata.
#
# Usage, in functions/<name>/Makefile:
#   HERE := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
#   include $(HERE)../request_validator.mk
#   build-<LogicalId>: ; $(call package_with_request_validator,<name>)
RUNTIME_PYTHON ?= python3.13

define package_with_request_validator
	$(eval TWILIO_PIN := $(shell grep -E '^twilio==' $(HERE)requirements.txt))
	test -n "$(TWILIO_PIN)" || { echo "no twilio==X.Y.Z pin in $(HERE)requirements.txt" >&2; exit 1; }
	rm -rf "$(ARTIFACTS_DIR)/$(1)"
	cp -R $(HERE)$(1) "$(ARTIFACTS_DIR)/"
	find "$(ARTIFACTS_DIR)/$(1)" -name __pycache__ -prune -exec rm -rf {} +
	rm -rf "$(ARTIFACTS_DIR)/.pip"
	$(RUNTIME_PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
		--only-binary=:all: --target "$(ARTIFACTS_DIR)/.pip" "$(TWILIO_PIN)"
	mkdir -p "$(ARTIFACTS_DIR)/twilio"
	cp "$(ARTIFACTS_DIR)/.pip/twilio/__init__.py" "$(ARTIFACTS_DIR)/.pip/twilio/request_validator.py" "$(ARTIFACTS_DIR)/twilio/"
	cd "$(ARTIFACTS_DIR)/.pip" && for info in twilio-*.dist-info; do \
		mkdir -p "$(ARTIFACTS_DIR)/$$info" && cp -R "$$info/METADATA" "$$info/licenses" "$(ARTIFACTS_DIR)/$$info/"; done
	rm -rf "$(ARTIFACTS_DIR)/.pip"
	$(RUNTIME_PYTHON) -m compileall -q --invalidation-mode checked-hash "$(ARTIFACTS_DIR)"
endef
