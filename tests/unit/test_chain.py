"""The whole chain in one process: webhook -> table -> stream -> fanout -> SNS -> SQS -> consumer."""

from __future__ import annotations

from devtools.lambda_runtime import Invoke, load_function
from devtools.pollers import QueuePoller, StreamPoller
from devtools.template import Stack
from tests.unit.helpers import drain, signed_event, subscribe_queue
from twilio_inbound_cli.signing import inbound_form


def test_every_message_reaches_subscribers_once(stack: Stack, ingest: Invoke, fanout: Invoke) -> None:
    # GIVEN a downstream queue on the topic and the template's stream and queue event sources
    downstream = subscribe_queue(stack)
    functions = stack.functions()
    (stream_source,) = functions["FanoutFunction"].events
    (queue_source,) = functions["ConsumerFunction"].events
    stream = StreamPoller(stack.session, stream_source.arn, fanout, stream_source.properties, function="FanoutFunction")
    consumer = QueuePoller(
        stack.session,
        queue_source.arn,
        load_function(functions["ConsumerFunction"]),
        queue_source.properties,
        function="ConsumerFunction",
    )
    forms = [
        inbound_form(body="plain sms"),
        inbound_form(body="", media=[("https://media.example/a.jpg", "image/jpeg")]),
        inbound_form(body="¿whatsapp? ✅", sender="whatsapp:+14155550199", to="whatsapp:+15005550001"),
    ]

    # WHEN Twilio delivers each message, one of them twice
    for form in [*forms, forms[0]]:
        assert ingest(signed_event(form))["statusCode"] == 200
    while stream.poll_once():
        pass

    # THEN each is stored once and published exactly once, body intact
    received = drain(stack, downstream)
    stored = stack.session.client("dynamodb").scan(TableName=stack.physical["MessagesTable"]["Ref"])["Items"]
    print(f"reconciliation: sent={len(forms)} stored={len(stored)} delivered={len(received)}")
    assert len(forms) == len(stored) == len(received)
    assert sorted(item["event"]["data"]["body"] for item in received) == sorted(dict(f)["Body"] for f in forms)
    assert len({item["event"]["id"] for item in received}) == 3
    # and the example consumer processes all of them, leaving nothing for its DLQ
    assert consumer.poll_once() == 3
    sqs = stack.session.client("sqs")
    for queue in ("SubscriberQueue", "SubscriberDeadLetterQueue", "FanoutDeadLetterQueue"):
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.physical[queue]["Ref"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "0", queue
