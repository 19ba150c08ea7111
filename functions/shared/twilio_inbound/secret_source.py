"""Where a function reads the stack's Twilio secret: Secrets Manager when deployed (cached), else tokens from the
environment (unit tests and `sam local` without the emulator's secret).

Shared by every function that verifies Twilio's signatures or calls Twilio (ingest, status, sender).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import boto3
from aws_lambda_powertools.utilities import parameters

from twilio_inbound.secrets import CachedSecrets, TokensUnavailable, WebhookSecrets


@dataclass(frozen=True)
class SecretSource:
    secret_arn: str = ""  # deployed: the Secrets Manager ARN
    local_tokens: tuple[str, ...] = ()  # offline: tokens in the environment
    cache_seconds: int = 300  # a rotated token or key is picked up within this time
    _cached: CachedSecrets = field(init=False, repr=False, compare=False)
    _provider: parameters.SecretsProvider | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Read and parsed once per cache_seconds, not per request (parsing costs more than checking a signature).
        object.__setattr__(self, "_cached", CachedSecrets(self._read_secret, self.cache_seconds))
        # Created with the function's other clients, once per container: `parameters.get_secret` creates its
        # provider (a boto3 session and client, ~70 ms of CPU) on its first call, inside the first request,
        # and concurrent first requests each created one.
        provider = parameters.SecretsProvider(boto3_client=boto3.client("secretsmanager")) if self.secret_arn else None
        object.__setattr__(self, "_provider", provider)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SecretSource:
        tokens = (env.get("TWILIO_AUTH_TOKEN", ""), env.get("TWILIO_SECONDARY_AUTH_TOKEN", ""))
        return cls(
            secret_arn=env.get("TWILIO_AUTH_TOKEN_SECRET_ARN", "").strip(),
            local_tokens=tuple(token.strip() for token in tokens if token.strip()),
            cache_seconds=int(env.get("TOKEN_CACHE_SECONDS") or 300),
        )

    def load(self) -> WebhookSecrets:
        """The secret's tokens, keys and REST credentials; TokensUnavailable (a fault of ours) when there are none."""
        if self.secret_arn:
            return self._cached()
        if not self.local_tokens:
            raise TokensUnavailable("no auth token configured")
        return WebhookSecrets.of_tokens(*self.local_tokens)

    def _read_secret(self) -> str:
        if self._provider is None:  # no secret_arn: load() never reads one
            raise TokensUnavailable("no auth token secret configured")
        try:
            return str(self._provider.get(self.secret_arn, max_age=self.cache_seconds))
        except parameters.GetParameterError as error:
            raise TokensUnavailable("auth token secret is unreadable") from error
