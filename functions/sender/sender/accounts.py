"""Which Twilio account sends a command, and an SDK client for it (one per account and credentials, reused warm).

The account is the one the command answers (inReplyTo: the inbound message's AccountSid) or names (accountSid);
else the secret's only account. A rotated token or key (the secret is re-read every few minutes) gets a new client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twilio_inbound.outbound import Refused
from twilio_inbound.secrets import ApiCredentials, TokensUnavailable, WebhookSecrets
from twilio_inbound.twilio_rest import NO_RETRIES, account_client


class TwilioAccounts:
    def __init__(self, load_secrets: Callable[[], WebhookSecrets], api_base_url: str = "", timeout: float = 10.0):
        self._load_secrets = load_secrets
        self._api_base_url = api_base_url
        self._timeout = timeout
        self._clients: dict[tuple[str, ApiCredentials], Any] = {}

    def account_for(self, wanted: str) -> str:
        """The AccountSid that sends; Refused when the command must name one and did not."""
        if wanted:
            return wanted
        secrets = self._load_secrets()
        if secrets.single is not None:
            if not secrets.single.account_sid:
                raise Refused("the stack's secret names no account: add accountSid to it, or send with accountSid")
            return secrets.single.account_sid
        if len(secrets.accounts) != 1:
            raise Refused("the stack's secret holds several accounts: name the sending one with accountSid")
        return next(iter(secrets.accounts))

    def client(self, account_sid: str) -> Any:
        """The official SDK's Client acting on the account; TokensUnavailable without REST credentials for it."""
        account = self._load_secrets().for_account(account_sid)
        if account is None:
            raise TokensUnavailable(f"the stack's secret has no entry for {account_sid}")
        key = (account_sid, account.api_credentials(account_sid))  # a rotated token or key: a new client
        if key not in self._clients:
            # No retries in the client: create_message retries, and knows which failures may have sent a message.
            self._clients[key] = account_client(
                account, account_sid, api_base_url=self._api_base_url, timeout=self._timeout, backoff=NO_RETRIES
            )
        return self._clients[key]
