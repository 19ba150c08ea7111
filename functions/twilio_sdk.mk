# Shared by the Makefiles of the functions that call Twilio through its SDK (sender, reconcile): `sam build` ships
# the function's package and the part of the twilio SDK its synchronous client can import for the 2010-04-01 API
# and Messaging v1: twilio's own modules but its other products (Client imports a product only when its attribute
# is read), and requests with its dependencies. Left out: the 37 other products under twilio/rest, twilio.jwt and
# twilio.twiml, and the async client's aiohttp family and PyJWT, which the synchronous client never imports
# (bench/package.py runs both functions from the built folder with everything left out unimportable). The versions
# are the function's requirements.txt (installed without their dependencies: the list is complete). Bytecode for
# the runtime's Python is included: /var/task is read-only, so without it every cold start compiles the SDK again.
#
# Usage, in functions/<name>/Makefile:
#   HERE := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
#   include $(HERE)../twilio_sdk.mk
#   build-<LogicalId>: ; $(call package_with_twilio_sdk,<name>)
RUNTIME_PYTHON ?= python3.13
TWILIO_REST_KEPT := __init__.py api messaging
TWILIO_LEFT_OUT := jwt twiml

define package_with_twilio_sdk
	rm -rf "$(ARTIFACTS_DIR)/$(1)"
	cp -R $(HERE)$(1) "$(ARTIFACTS_DIR)/"
	find "$(ARTIFACTS_DIR)/$(1)" -name __pycache__ -prune -exec rm -rf {} +
	$(RUNTIME_PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --no-compile --only-binary=:all: \
		--platform manylinux2014_aarch64 --implementation cp --python-version 3.13 \
		--target "$(ARTIFACTS_DIR)" -r "$(HERE)requirements.txt"
	cd "$(ARTIFACTS_DIR)/twilio/rest" && for entry in *; do \
		case " $(TWILIO_REST_KEPT) " in *" $$entry "*) ;; *) rm -rf "$$entry" ;; esac; done
	cd "$(ARTIFACTS_DIR)/twilio" && rm -rf $(TWILIO_LEFT_OUT)
	rm -rf "$(ARTIFACTS_DIR)/bin"  # console scripts pip installs (charset-normalizer's CLI)
	$(RUNTIME_PYTHON) -m compileall -q --invalidation-mode checked-hash "$(ARTIFACTS_DIR)"
endef
