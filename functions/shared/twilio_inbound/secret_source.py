"""Where a function reads the stack's Twilio secret: Secrets Manager when deployed (cached), else tokens from the
environment (unit tests and `sam local` without the emulator's secret).

Shared by every function that verifies Twilio's signatures or calls Twilio (ingest, status, sender).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from aws_lambda_powertools.utilities import parameters

from twilio_inbound.secrets import TokensUnavailable, WebhookSecrets, secrets_from_text


@dataclass(frozen=True)
class SecretSource:
    secret_arn: str = ""  # deployed: the Secrets Manager ARN
    local_tokens: tuple[str, ...] = ()  # offline: tokens in the environment
    cache_seconds: int = 300  # a rotated token or key is picked up within this time

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
            try:
                secret = parameters.get_secret(self.secret_arn, max_age=self.cache_seconds)
            except parameters.GetParameterError as error:
                raise TokensUnavailable("auth token secret is unreadable") from error
            return secrets_from_text(str(secret))
        if not self.local_tokens:
            raise TokensUnavailable("no auth token configured")
        return WebhookSecrets.of_tokens(*self.local_tokens)
