"""Regression tests for the outside security review, one per finding (numbered as in the review).

Each failed on the code before its fix. Findings 1 and 6 (the local stack) are in tests/integration.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError

from devtools.lambda_runtime import Invoke
from devtools.pollers import StreamPoller
from devtools.template import Stack
from tests.unit.helpers import drain, ingest_settings, make_intake, signed_event, subscribe_queue
from twilio_inbound.cloudevent import NOT_SQS_TEXT
from twilio_inbound.message_item import item_values
from twilio_inbound.numbers import InvalidNumberConfig, NumberConfig, classify
from twilio_inbound.publishing import TopicPublisher
from twilio_inbound_cli.signing import (
    FORM_CONTENT_TYPE,
    TEST_AUTH_TOKEN,
    encode_form,
    inbound_form,
    new_message_sid,
    signature,
)
from twilio_inbound_cli.signing import TEST_WEBHOOK_URL as WEBHOOK_URL

Items = Any


def stream_poller(stack: Stack, fanout: Invoke) -> StreamPoller:
    (source,) = stack.functions()["FanoutFunction"].events
    return StreamPoller(stack.session, source.arn, fanout, source.properties, function="FanoutFunction")


def publish_all(stack: Stack, fanout: Invoke) -> None:
    poller = stream_poller(stack, fanout)
    while poller.poll_once():
        pass


# ---------------------------------------------------------------- 2. replay --from-dlq and empty pages
class EmptyPagesFirst:
    """DynamoDB Streams as it may answer: empty pages (with a next iterator) before a range's records."""

    def __init__(self, real: Any, empty_pages: int) -> None:
        self.real, self.empty_pages = real, empty_pages

    def get_shard_iterator(self, **kwargs: Any) -> Any:
        return self.real.get_shard_iterator(**kwargs)

    def get_records(self, **kwargs: Any) -> Any:
        if self.empty_pages:
            self.empty_pages -= 1
            return {"Records": [], "NextShardIterator": kwargs["ShardIterator"]}
        return self.real.get_records(**kwargs)


def _dead_letter_for(stack: Stack, ingest: Invoke, count: int) -> tuple[str, list[str]]:
    """`count` stored messages and the fanout DLQ holding their stream range, as Lambda reports it."""
    sids = [new_message_sid() for _ in range(count)]
    for sid in sids:
        assert ingest(signed_event(inbound_form(message_sid=sid)))["statusCode"] == 200
    streams = stack.session.client("dynamodbstreams")
    stream_arn = stack.physical["MessagesTable"]["StreamArn"]
    (shard,) = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    info = {
        "shardId": shard["ShardId"],
        "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
        "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
        "batchSize": len(records),
        "streamArn": stream_arn,
    }
    dlq = stack.physical["FanoutDeadLetterQueue"]["Ref"]
    stack.session.client("sqs").send_message(QueueUrl=dlq, MessageBody=json.dumps({"DDBStreamBatchInfo": info}))
    return dlq, sids


def _replayer(stack: Stack) -> Any:
    from twilio_inbound.messages_table import MessageStore
    from twilio_inbound.opt_outs_table import OptOutStore
    from twilio_inbound_cli.replay import Replayer

    client = stack.session.client("dynamodb")
    return Replayer(
        MessageStore(client, stack.physical["MessagesTable"]["Ref"], stack.physical["OptOutsTable"]["Ref"]),
        TopicPublisher(stack.session.client("sns"), stack.physical["MessagesTopic"]["Ref"]),
        OptOutStore(client, stack.physical["OptOutsTable"]["Ref"]),
    )


def test_2_replay_follows_empty_pages_and_republishes_the_whole_range(stack: Stack, ingest: Invoke) -> None:
    dlq, sids = _dead_letter_for(stack, ingest, 5)
    queue = subscribe_queue(stack)
    streams = EmptyPagesFirst(stack.session.client("dynamodbstreams"), empty_pages=3)
    sqs = stack.session.client("sqs")
    result = _replayer(stack).from_dead_letters(sqs, dlq, streams)
    assert result.dead_letters_done == 1
    assert sorted(item["event"]["id"] for item in drain(stack, queue)) == sorted(sids)
    assert "Messages" not in sqs.receive_message(QueueUrl=dlq)


def test_2_a_range_read_short_of_its_batch_size_keeps_the_dead_letter(stack: Stack, ingest: Invoke) -> None:
    dlq, _ = _dead_letter_for(stack, ingest, 3)
    sqs = stack.session.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=dlq)["Messages"]
    sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
    letter = json.loads(message["Body"])
    letter["DDBStreamBatchInfo"]["batchSize"] = 4  # one record more than the stream holds in the range
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(letter))
    result = _replayer(stack).from_dead_letters(sqs, dlq, stack.session.client("dynamodbstreams"))
    assert result.dead_letters_done == 0
    assert result.dead_letters_kept == [
        "read 3 of the range's 4 stream records: kept, try again or replay by time range"
    ]


# ---------------------------------------------------------------- 3. one refused entry, no needless duplicates
class RefusesOnce:
    """SNS refusing one entry of a PublishBatch once (throttled), publishing the rest for real."""

    def __init__(self, real: Any, refuse_index: int) -> None:
        self.real, self.refuse_index, self.calls = real, refuse_index, 0

    def publish_batch(self, **kwargs: Any) -> Any:
        self.calls += 1
        entries = kwargs["PublishBatchRequestEntries"]
        if self.calls > 1 or len(entries) <= self.refuse_index:
            return self.real.publish_batch(**kwargs)
        refused = entries[self.refuse_index]
        rest = [entry for entry in entries if entry is not refused]
        response = self.real.publish_batch(**{**kwargs, "PublishBatchRequestEntries": rest})
        response["Failed"] = [{"Id": refused["Id"], "Code": "Throttled", "SenderFault": False}]
        return response


def test_3_one_refused_entry_is_retried_alone(stack: Stack, fanout: Invoke, ingest: Invoke, monkeypatch: Any) -> None:
    from fanout import handler as fanout_handler

    sns = RefusesOnce(stack.session.client("sns"), refuse_index=3)
    publisher = TopicPublisher(sns, stack.physical["MessagesTopic"]["Ref"], sleep=lambda _: None)  # type: ignore[arg-type]
    monkeypatch.setattr(fanout_handler, "publisher", publisher)
    queue = subscribe_queue(stack)
    sids = [new_message_sid() for _ in range(10)]
    for sid in sids:
        assert ingest(signed_event(inbound_form(message_sid=sid)))["statusCode"] == 200
    publish_all(stack, fanout)
    delivered = [item["event"]["id"] for item in drain(stack, queue)]
    duplicates = len(delivered) - len(set(delivered))
    assert sorted(set(delivered)) == sorted(sids)
    assert duplicates == 0  # before the fix: 6 (every entry after the refused one, published again)
    assert sns.calls == 2


def test_3_a_sender_fault_is_not_retried(stack: Stack) -> None:
    class Refuses:
        calls = 0

        def publish_batch(self, **kwargs: Any) -> Any:
            self.calls += 1
            ids = [entry["Id"] for entry in kwargs["PublishBatchRequestEntries"]]
            return {
                "Successful": [],
                "Failed": [{"Id": i, "Code": "InvalidParameter", "SenderFault": True} for i in ids],
            }

    from twilio_inbound.publishing import Outgoing

    sns = Refuses()
    publisher = TopicPublisher(sns, "arn:aws:sns:us-east-1:123456789012:t", sleep=lambda _: None)  # type: ignore[arg-type]
    refused = publisher.publish_batch([Outgoing(0, "SM1", "{}", {})])
    assert [item.message_sid for item in refused] == ["SM1"]
    assert sns.calls == 1


# ---------------------------------------------------------------- 4. stored means 200
def test_4_an_unreadable_opt_out_state_after_the_write_still_answers_200(
    stack: Stack, ingest: Invoke, table_items: Items, monkeypatch: Any
) -> None:
    from ingest import handler as ingest_handler

    registry = ingest_handler.intake.registry
    registry.put(NumberConfig("+15005550001", auto_reply="Thanks!"))

    def unavailable(*_: Any, **__: Any) -> bool:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, "BatchGetItem")

    monkeypatch.setattr(ingest_handler.intake.optouts, "state", unavailable)
    response = ingest(signed_event(inbound_form(to="+15005550001")))
    # THEN the stored message is acknowledged (a 503 would send Twilio to the fallback URL) without a reply
    assert response["statusCode"] == 200
    assert "<Message>" not in response["body"]
    assert len(table_items()) == 1


# ---------------------------------------------------------------- 5. whatever is stored can be published
def raw_body_event(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Signed as usual, but with the Body value sent as raw UTF-8, unencoded (forms need not encode it)."""
    event = signed_event(pairs)
    raw = "&".join(f"{name}={value}" if name == "Body" else urlencode([(name, value)]) for name, value in pairs)
    event["body"] = base64.b64encode(raw.encode()).decode()
    return event


def test_5_a_message_whose_event_would_exceed_sns_limit_is_refused(ingest: Invoke, table_items: Items) -> None:
    # GIVEN a signed form of raw control characters (form bodies need not percent-encode them): 30 KB, under
    # the 32 KiB body cap, but 6 bytes each once JSON-escaped, in the body field and in the parameters
    event = raw_body_event(inbound_form(body="\x01" * 30_000))
    # WHEN it is posted THEN it is refused, since stored it could never be published (SNS's 256 KiB)
    response = ingest(event)
    assert response["statusCode"] == 413
    assert "too large to publish" in response["body"]
    assert table_items() == []


def test_5_the_largest_publishable_messages_are_stored(ingest: Invoke, table_items: Items) -> None:
    response = ingest(raw_body_event(inbound_form(body="é" * 14_000)))  # 28 KB of body, 2 bytes each in JSON
    assert response["statusCode"] == 200
    assert len(table_items()) == 1


# ---------------------------------------------------------------- 7. the signing mode is configuration
def _shared_key_verifier(monkeypatch: Any, keys: dict[str, str]) -> None:
    from ingest import handler as ingest_handler
    from twilio_inbound.secrets import AccountSecrets, WebhookSecrets
    from twilio_inbound.signature import SignatureVerifier

    secrets = WebhookSecrets(single=AccountSecrets(auth_tokens=(TEST_AUTH_TOKEN,), shared_keys=keys))
    verifier = SignatureVerifier(lambda: secrets, "shared-key")
    monkeypatch.setattr(ingest_handler, "intake", replace(ingest_handler.intake, verifier=verifier))


def _shared_key_event(pairs: list[tuple[str, str]], secret: str, settings: str | None) -> dict[str, Any]:
    from twilio.request_validator import RequestValidator

    from devtools.apigw import http_api_event
    from twilio_inbound.message import MultiParams, group_pairs

    algorithm = "HMAC_SHA1" if settings and "SHA1" in settings else "HMAC_SHA256"
    sig = RequestValidator(secret).compute_signature(WEBHOOK_URL, MultiParams(group_pairs(pairs)), algorithm)
    headers = {"Content-Type": FORM_CONTENT_TYPE, "X-Twilio-Signature": sig}
    if settings is not None:
        headers["X-Twilio-Webhooks-Signature-Settings"] = settings
    return http_api_event("POST", WEBHOOK_URL, headers, encode_form(pairs))


def test_7_shared_key_mode_selects_the_key_by_id(ingest: Invoke, monkeypatch: Any) -> None:
    _shared_key_verifier(monkeypatch, {"KEY_OLD": "old-shared-secret", "KEY_NEW": "new-shared-secret"})
    pairs = inbound_form()
    # both keys verify while rotating, each under its own id
    assert (
        ingest(_shared_key_event(pairs, "new-shared-secret", "key=KEY_NEW,algorithm=HMAC_SHA256"))["statusCode"] == 200
    )
    assert (
        ingest(_shared_key_event(pairs, "old-shared-secret", "key=KEY_OLD,algorithm=HMAC_SHA256"))["statusCode"] == 200
    )
    # a key under another key's id, an unknown id, SHA-1, no header, or the auth token: refused
    refused = [
        _shared_key_event(pairs, "old-shared-secret", "key=KEY_NEW,algorithm=HMAC_SHA256"),
        _shared_key_event(pairs, "new-shared-secret", "key=KEY_OTHER,algorithm=HMAC_SHA256"),
        _shared_key_event(pairs, "new-shared-secret", "key=KEY_NEW,algorithm=HMAC_SHA1"),
        _shared_key_event(pairs, TEST_AUTH_TOKEN, None),
        _shared_key_event(pairs, TEST_AUTH_TOKEN, "key=KEY_NEW,algorithm=HMAC_SHA256"),
    ]
    assert [ingest(event)["statusCode"] for event in refused] == [403] * 5


def test_7_auth_token_mode_refuses_requests_that_choose_sha256(ingest: Invoke) -> None:
    # Before: the header chose SHA-256 and the auth token verified it.
    event = _shared_key_event(inbound_form(), TEST_AUTH_TOKEN, "key=anything,algorithm=HMAC_SHA256")
    response = ingest(event)
    assert response["statusCode"] == 403
    assert "shared key" in response["body"]


def test_7_subaccounts_verify_with_their_own_token_and_unknown_accounts_are_refused(
    ingest: Invoke, monkeypatch: Any
) -> None:
    from ingest import handler as ingest_handler
    from twilio_inbound.secrets import secrets_from_text
    from twilio_inbound.signature import SignatureVerifier

    sub = "AC" + "1" * 32
    secret = json.dumps({"accounts": {"AC" + "0" * 32: {"primary": TEST_AUTH_TOKEN}, sub: {"primary": "sub-token"}}})
    verifier = SignatureVerifier(lambda: secrets_from_text(secret))
    monkeypatch.setattr(ingest_handler, "intake", replace(ingest_handler.intake, verifier=verifier))
    assert ingest(signed_event(inbound_form()))["statusCode"] == 200
    assert ingest(signed_event(inbound_form(account_sid=sub), token="sub-token"))["statusCode"] == 200
    assert ingest(signed_event(inbound_form(account_sid=sub)))["statusCode"] == 403  # the parent's token
    assert ingest(signed_event(inbound_form(account_sid="AC" + "2" * 32)))["statusCode"] == 403


# ---------------------------------------------------------------- 8. repeated single-valued parameters
@pytest.mark.parametrize("name", ["MessageSid", "AccountSid", "From", "To", "Body", "NumMedia", "OptOutType"])
def test_8_a_repeated_parameter_twilio_never_repeats_is_a_400(ingest: Invoke, table_items: Items, name: str) -> None:
    pairs = inbound_form()
    value = dict(pairs).get(name, "STOP")
    response = ingest(
        signed_event([(name, value), *pairs] if name in dict(pairs) else [*pairs, (name, "x"), (name, "y")])
    )
    assert response["statusCode"] == 400
    assert name in response["body"]
    assert table_items() == []


def test_8_the_to_city_trick_is_refused(ingest: Invoke, table_items: Items) -> None:
    # "To=CitySAN FRANCISCO" before the real To, ToCity removed: the same signature as the original form
    original = inbound_form()
    forged = [("To", "CitySAN FRANCISCO"), *((k, v) for k, v in original if k != "ToCity")]
    event = signed_event(original)
    event["body"] = base64.b64encode(encode_form(forged)).decode()
    response = ingest(event)
    assert response["statusCode"] == 400
    assert table_items() == []


# ---------------------------------------------------------------- 9. whole strings
@pytest.mark.parametrize("sid", ["SM" + "a" * 32 + "\n", "SM" + "a" * 32 + "\nx"])
def test_9_a_sid_with_a_trailing_newline_is_not_a_sid(ingest: Invoke, table_items: Items, sid: str) -> None:
    assert ingest(signed_event(inbound_form(message_sid=sid)))["statusCode"] == 400
    assert table_items() == []


def test_9_registry_patterns_match_whole_strings() -> None:
    with pytest.raises(InvalidNumberConfig):
        NumberConfig("+15005550001\n").validate()
    with pytest.raises(InvalidNumberConfig):
        NumberConfig("+15005550001", keywords={"HOURS\n": "9-5"}).validate()


# ---------------------------------------------------------------- 10. ASCII keywords only
@pytest.mark.parametrize("body", ["ſtop", "ﬆop", "quıt", "ſtart", "\u3000STOP"])
def test_10_look_alikes_are_not_keywords(body: str) -> None:
    keyword = classify(body, "")
    assert (keyword.opt_out_type, keyword.keyword) == ("", "")


def test_10_a_look_alike_stop_changes_no_opt_out_state(stack: Stack, ingest: Invoke) -> None:
    assert ingest(signed_event(inbound_form(body="ſtop")))["statusCode"] == 200
    assert stack.session.client("dynamodb").scan(TableName=stack.physical["OptOutsTable"]["Ref"])["Items"] == []


# ---------------------------------------------------------------- 11. nothing SNS would make undeliverable
@pytest.mark.parametrize(("field", "value"), [("name", "support\x01line"), ("route_key", "a\nb"), ("tags", ("t\x7f",))])
def test_11_registry_fields_are_checked_when_written(field: str, value: Any) -> None:
    with pytest.raises(InvalidNumberConfig, match="printable"):
        replace(NumberConfig("+15005550001"), **{field: value}).validate()


def test_11_no_attribute_or_body_sqs_would_refuse(stack: Stack, ingest: Invoke, fanout: Invoke) -> None:
    queue = subscribe_queue(stack)
    form = inbound_form(sender="+1415555\x010100", body="odd \uffff\ufffe chars")
    assert ingest(signed_event(form))["statusCode"] == 200
    publish_all(stack, fanout)
    (delivered,) = drain(stack, queue)
    attributes = {name: value["StringValue"] for name, value in delivered["attributes"].items()}
    assert "from" not in attributes  # left out, not delivered broken (the body still carries it)
    assert not any(NOT_SQS_TEXT.search(value) for value in attributes.values())
    assert delivered["event"]["data"]["from"] == "+1415555\x010100"
    assert delivered["event"]["data"]["body"] == "odd \uffff\ufffe chars"


def test_11_encoded_events_hold_only_characters_sqs_accepts() -> None:
    from twilio_inbound.cloudevent import encode

    text = encode({"body": "a\x00b\uffffc\ufffe\t"})
    assert not NOT_SQS_TEXT.search(text)
    assert json.loads(text) == {"body": "a\x00b\uffffc\ufffe\t"}


# ---------------------------------------------------------------- 12. a replay after expiry changes no opt-out state
def test_12_a_captured_start_replayed_after_its_message_expired_does_not_undo_a_later_stop(
    stack: Stack, ingest: Invoke
) -> None:
    from twilio_inbound.opt_outs_table import OptOutStore

    start = signed_event(inbound_form(body="START", message_sid=new_message_sid()))
    assert ingest(start)["statusCode"] == 200
    assert ingest(signed_event(inbound_form(body="STOP", message_sid=new_message_sid())))["statusCode"] == 200
    # the START's message expires (RetentionDays): DynamoDB's TTL deletes the item
    client = stack.session.client("dynamodb")
    table = stack.physical["MessagesTable"]["Ref"]
    for item in client.scan(TableName=table)["Items"]:
        if item_values(item)["body"] == "START":
            client.delete_item(TableName=table, Key={"messageSid": item["messageSid"]})
    # WHEN the captured START request is replayed
    assert ingest(start)["statusCode"] == 200
    # THEN the sender is still opted out, and the replay is not stored again
    optouts = OptOutStore(client, stack.physical["OptOutsTable"]["Ref"])
    assert optouts.is_opted_out("+15005550001", "+15005550006")
    assert [item_values(item)["body"] for item in client.scan(TableName=table)["Items"]] == ["STOP"]


# ---------------------------------------------------------------- 13. least privilege on the registry
def test_13_the_ingest_role_cannot_write_the_registry() -> None:
    from devtools.template import load_template

    resources = load_template()["Resources"]
    statements = resources["IngestRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    on_numbers = [s for s in statements if s["Resource"] == {"Fn::GetAtt": ["NumbersTable", "Arn"]}]
    actions = {action for statement in on_numbers for action in _listed(statement["Action"])}
    assert actions == {"dynamodb:GetItem"}


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


# ---------------------------------------------------------------- 14. what SNS cannot deliver is kept
def test_14_the_example_subscription_redrives_to_the_subscriber_dlq() -> None:
    from devtools.template import load_template

    resources = load_template()["Resources"]
    redrive = resources["SubscriberSubscription"]["Properties"]["RedrivePolicy"]
    assert redrive == {"deadLetterTargetArn": {"Fn::GetAtt": ["SubscriberDeadLetterQueue", "Arn"]}}
    policy = resources["SubscriberQueuePolicy"]["Properties"]
    assert {"Ref": "SubscriberDeadLetterQueue"} in policy["Queues"]


# ---------------------------------------------------------------- 15. PublicBaseUrl with a path prefix
def test_15_a_custom_domain_with_a_mapping_path_verifies(stack: Stack, table_items: Items) -> None:
    from twilio_inbound.secrets import WebhookSecrets

    # API mapping "twilio" on hooks.example.com: Twilio calls .../twilio/sms, API Gateway's rawPath is /sms
    public = "https://hooks.example.com/twilio"
    intake = make_intake(
        stack, ingest_settings(stack, public_base_url=public), lambda: WebhookSecrets.of_tokens(TEST_AUTH_TOKEN)
    )
    assert intake.receive(signed_event(inbound_form(), signed_url=f"{public}/sms")).stored
    assert len(table_items()) == 1


def test_15_connection_overrides_do_not_change_the_signed_url(ingest: Invoke) -> None:
    # Configured in Twilio as https://.../sms#rc=3&rp=all: a fragment is never sent in an HTTP request, so
    # Twilio calls (and signs) the URL without it.
    configured = WEBHOOK_URL + "#rc=3&rp=all"
    called = configured.split("#", 1)[0]
    pairs = inbound_form()
    event = signed_event(pairs, url=called, signed_url=called)
    assert ingest(event)["statusCode"] == 200
    headers = {name.lower(): value for name, value in event["headers"].items()}
    assert headers["x-twilio-signature"] == signature(called, pairs)


@pytest.mark.parametrize(
    "url", ["hooks.example.com", "https://hooks.example.com?x=1", "https://h.example#f", "ftp://h"]
)
def test_15_a_public_base_url_that_cannot_be_twilios_fails_at_start(url: str) -> None:
    from ingest.settings import IngestSettings

    env = {"TABLE_NAME": "t", "NUMBERS_TABLE_NAME": "n", "OPT_OUTS_TABLE_NAME": "o", "PUBLIC_BASE_URL": url}
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL"):
        IngestSettings.from_env(env)


# ---------------------------------------------------------------- the secret's REST credentials (media, CLI)
def test_rest_credentials_prefer_an_api_key_and_need_an_account_sid_otherwise() -> None:
    from twilio_inbound.secrets import ApiCredentials, TokensUnavailable, secrets_from_text

    account, key = "AC" + "0" * 32, "SK" + "1" * 32
    with_key = secrets_from_text(json.dumps({"primary": "tok", "apiKeySid": key, "apiKeySecret": "ks"}))
    assert with_key.for_account(account).api_credentials() == ApiCredentials(key, "ks")  # type: ignore[union-attr]
    token_only = secrets_from_text(json.dumps({"accounts": {account: {"primary": "tok"}}}))
    assert token_only.for_account(account).api_credentials() == ApiCredentials(account, "tok")  # type: ignore[union-attr]
    named = secrets_from_text(json.dumps({"primary": "tok", "accountSid": account}))
    assert named.for_account(account).api_credentials() == ApiCredentials(account, "tok")  # type: ignore[union-attr]
    with pytest.raises(TokensUnavailable):
        secrets_from_text("plain-token").for_account(account).api_credentials()  # type: ignore[union-attr]
    with pytest.raises(TokensUnavailable, match="apiKeySecret"):
        secrets_from_text(json.dumps({"primary": "tok", "apiKeySid": key}))


# ---------------------------------------------------------------- 1. the local stack after a repeated STOP
def test_1_the_stream_poller_survives_a_repeated_stop(stack: Stack, ingest: Invoke, fanout: Invoke) -> None:
    # GIVEN a STOP delivered twice (the repeat cancels a transaction: the emulator then replaces the stream)
    queue = subscribe_queue(stack)
    poller = stream_poller(stack, fanout)
    stop_sid = new_message_sid()
    stop = signed_event(inbound_form(body="STOP", message_sid=stop_sid))
    assert ingest(stop)["statusCode"] == 200
    while poller.poll_once():
        pass
    assert ingest(stop)["statusCode"] == 200
    # WHEN ordinary messages follow
    sids = [new_message_sid() for _ in range(5)]
    for sid in sids:
        assert ingest(signed_event(inbound_form(message_sid=sid)))["statusCode"] == 200
    for _ in range(3):
        poller.poll_once()
    # THEN every one is delivered (before: only the STOP, the poller reading the replaced stream forever)
    delivered = [item["event"]["id"] for item in drain(stack, queue)]
    assert sorted(delivered) == sorted([stop_sid, *sids])
