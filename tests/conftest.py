"""Fixtures shared by unit and integration tests: fake AWS credentials, never real ones."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devtools.twilio_api import TwilioStandIn
from devtools.twilio_api.spec import SpecMissing, TwilioSpec, load_spec
from tests import published_events
from tests.iam_check import (  # noqa: F401 (hooks: every function's AWS calls checked against its role)
    pytest_runtest_call,
    pytest_runtest_setup,
    pytest_runtest_teardown,
    pytest_sessionfinish,
    pytest_testnodedown,
)

# Set before any client exists. Tests never reach real AWS: unit tests run under moto's mock_aws, integration
# tests against the local stack's emulator.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # pragma: allowlist secret
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        # moto does not route botocore's account-based DynamoDB Streams endpoint.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_METRICS_NAMESPACE": "TwilioInboundTest",
    }
)
os.environ.pop("AWS_PROFILE", None)


# ---------------------------------------------------------------- the Twilio API stand-in (tests marked allow_hosts)
@pytest.fixture(scope="session")
def spec() -> TwilioSpec:
    """Twilio's OpenAPI description (`make twilio-openapi` fetches it)."""
    try:
        return load_spec()
    except SpecMissing as error:
        pytest.fail(str(error))


@pytest.fixture
def twilio(spec: TwilioSpec) -> Iterator[TwilioStandIn]:
    """The stand-in on free loopback ports, checking every request and answer against Twilio's description."""
    with TwilioStandIn.start(spec=spec) as standin:
        yield standin
        assert standin.violations == [], "requests or answers disagreed with Twilio's description"


# ---------------------------------------------------------------- every event a test publishes parses with the client
published_events.install()


@pytest.fixture(autouse=True)
def published_events_parse() -> Iterator[None]:
    """Fails the test that published an event twilio_inbound_client cannot parse (tests/published_events.py)."""
    published_events.FAILURES.clear()
    yield
    failures, published_events.FAILURES[:] = list(published_events.FAILURES), []
    assert not failures, "\n".join(failures)
