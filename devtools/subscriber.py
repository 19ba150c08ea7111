"""A downstream service's queue on the messages topic, set up as docs/guides/subscribe.md tells subscribers to."""

from __future__ import annotations

import json
from typing import Any


def subscribe_queue(
    sqs: Any, sns: Any, topic_arn: str, queue_name: str, filter_policy: dict[str, Any] | None = None
) -> tuple[str, str]:
    """A queue of a downstream service on the topic, as docs/guides/subscribe.md tells subscribers to set one up: raw
    delivery, and a queue policy that admits only this topic. Returns (queue URL, subscription ARN)."""
    url = str(sqs.create_queue(QueueName=queue_name)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    attributes = {"RawMessageDelivery": "true"}
    if filter_policy:
        attributes["FilterPolicy"] = json.dumps(filter_policy)
    subscription = sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes, ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    return url, str(subscription)
