"""The scheduled reconcile in template.yaml: off by default, bounded, failures kept, recoveries alarmed."""

from __future__ import annotations

from typing import Any

from devtools.template import load_template

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
SCHEDULED = {"ReconcileSchedule", "ReconcileScheduleRole"}


def test_it_runs_on_a_schedule_only_when_a_period_is_chosen() -> None:
    # The function itself is always deployed (it costs nothing until invoked), the schedule only on request.
    assert TEMPLATE["Parameters"]["ReconcileEveryMinutes"]["Default"] == 0
    assert TEMPLATE["Conditions"]["ReconcileScheduled"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ReconcileEveryMinutes"}, 0]}]
    }
    conditional = {name for name, resource in RESOURCES.items() if resource.get("Condition") == "ReconcileScheduled"}
    assert conditional == SCHEDULED
    expression = RESOURCES["ReconcileSchedule"]["Properties"]["ScheduleExpression"]
    assert expression == {"Fn::Sub": "rate(${ReconcileEveryMinutes} minutes)"}


def test_the_run_stops_itself_before_the_timeout_and_failures_are_kept() -> None:
    function = RESOURCES["ReconcileFunction"]["Properties"]
    assert int(function["Environment"]["Variables"]["RUN_SECONDS"]) < function["Timeout"]
    queue = {"Fn::GetAtt": ["ReconcileDeadLetterQueue", "Arn"]}
    assert function["DeadLetterQueue"]["TargetArn"] == queue
    target = RESOURCES["ReconcileSchedule"]["Properties"]["Target"]
    assert target["DeadLetterConfig"]["Arn"] == queue
    assert target["Arn"] == {"Fn::GetAtt": ["ReconcileFunction", "Arn"]}


def test_any_recovered_message_raises_the_alarm() -> None:
    alarm = RESOURCES["MessagesRecoveredAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Dimensions"]) == (
        "TwilioInbound",
        "MessagesRecovered",
        [{"Name": "service", "Value": "reconcile"}],
    )
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == ("Sum", "GreaterThanThreshold", 0)
    function = RESOURCES["ReconcileFunction"]["Properties"]
    assert function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "reconcile"
