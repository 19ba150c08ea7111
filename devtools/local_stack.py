"""`make local`: the whole pipeline on this machine, with no AWS account and no Docker.

An AWS emulator (moto server) holds template.yaml's own resources and roles; an HTTP server stands in for API
Gateway; pollers stand in for Lambda's stream and queue event sources. Each function runs with its own role's
credentials and the emulator enforces them (devtools/iam/local.py): a call the role does not allow fails here as
it would in AWS, with a `denied` line. Runs in the foreground until Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import botocore.handlers

from devtools.drain import DRAIN_SECONDS
from devtools.ports import LOOPBACK, port_is_free
from devtools.template import ROOT, TEMPLATE_PATH
from twilio_inbound.cloudevent import MEDIA_ARCHIVED_TYPE
from twilio_inbound.redact import mask_address, mask_numbers
from twilio_inbound_cli.signing import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, signing_token
from twilio_inbound_cli.target import LOCAL_OUTPUTS
from twilio_inbound_cli.twilio_access import api_url_argument

if TYPE_CHECKING:  # imported when the functions start: after the environment points at the emulator
    from devtools.apigw import GatewayServer
    from devtools.console.server import Console
    from devtools.lambda_runtime import Invoke
    from devtools.pollers import PollingThread
    from twilio_inbound.sends_table import SendIntentStore

DEFAULT_OUTPUTS = ROOT / LOCAL_OUTPUTS
REGION = "us-east-1"
SHUTDOWN_SECONDS = 10  # for the functions' threads to finish what they are doing, all together
DEMO_NUMBER = "+15005550001"  # the local account's number at the Twilio API stand-in
# An approved WhatsApp template at the local stand-in, so a template can be tried as soon as make local runs.
DEMO_TEMPLATE_SID = "HX00000000000000000000000000000001"
DEMO_TEMPLATE = "Your appointment is on {{1}} at {{2}}. Reply C to confirm."
DEMO_REPLY = "Thanks! This is make local's demo reply (make local ARGS=--no-demo-reply turns it off)."


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make local", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("LOCAL_HOST", "127.0.0.1"), help="address to listen on")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_PORT", "3000")), help="webhook port")
    parser.add_argument(
        "--emulator-port", type=int, default=int(os.environ.get("EMULATOR_PORT", "5000")), help="AWS emulator port"
    )
    parser.add_argument("--stack-name", default="twilio-inbound-local")
    parser.add_argument("--outputs", type=Path, default=DEFAULT_OUTPUTS, help="where to write the stack outputs")
    parser.add_argument(
        "--public-base-url",
        default=os.environ.get("PUBLIC_BASE_URL", ""),
        help="the URL Twilio calls, when it reaches you through a tunnel (https://xyz.example)",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        type=_parameter,
        metavar="NAME=VALUE",
        help="a template parameter, e.g. AutoReplyText='Thanks, we got it.' (repeatable)",
    )
    parser.add_argument(
        "--twilio-api-url",
        default=os.environ.get("TWILIO_API_URL", ""),
        type=api_url_argument,
        help="the Twilio API base the functions call (default: a Twilio API stand-in started here, seeded with "
        "the local account and token; `make send ARGS='--seed-media image/jpeg,300000'` puts media in it)",
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=DRAIN_SECONDS,
        help="on Ctrl-C/SIGTERM, how long to keep delivering what is stored before exiting (default %(default)g)",
    )
    parser.add_argument(
        "--template", type=Path, default=TEMPLATE_PATH, help="the SAM template to run (default: %(default)s)"
    )
    parser.add_argument(
        "--console-port",
        type=int,
        default=int(os.environ.get("CONSOLE_PORT", "3030")),
        help="the console's port in the browser (always on 127.0.0.1; 0: no console)",
    )
    parser.add_argument(
        "--demo-reply",
        default=DEMO_REPLY,
        metavar="TEXT",
        help=f"the seeded number {DEMO_NUMBER} is registered with this auto-reply, so texting it (the console's "
        "phone, `make send`) is answered at once, in the thread with its status (default: %(default)r)",
    )
    parser.add_argument(
        "--no-demo-reply",
        dest="demo_reply",
        action="store_const",
        const="",
        help=f"leave {DEMO_NUMBER} unregistered (no entry point, no reply)",
    )
    parser.add_argument("--verbose", action="store_true", help="show the functions' JSON logs and HTTP lines")
    return parser.parse_args(argv)


def _parameter(value: str) -> tuple[str, str]:
    name, sep, text = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--parameter takes NAME=VALUE, not {value!r}")
    return name, text


def _print_deliveries(event: dict[str, Any], result: Any) -> None:
    """One readable line per message the example consumer processed."""
    failed = {failure["itemIdentifier"] for failure in (result or {}).get("batchItemFailures", [])}
    for record in event["Records"]:
        try:
            cloud_event = json.loads(record["body"])
            data = cloud_event["data"]
        except (ValueError, KeyError, TypeError):
            print(f"  not a message event: {record['messageId']}", flush=True)
            continue
        if cloud_event.get("type") == MEDIA_ARCHIVED_TYPE:
            _print_media(data, "FAILED   " if record["messageId"] in failed else "archived ")
            continue
        status = "FAILED   " if record["messageId"] in failed else "delivered"
        body = data["body"] if len(data["body"]) <= 60 else data["body"][:59] + "…"
        media = f" +{data['numMedia']} media" if data["numMedia"] else ""
        entry_point = f" [{data['entryPoint']['name'] or data['to']}]" if data.get("entryPoint") else ""
        print(
            f"{status} {cloud_event['id']} {data['channel']:<8} {mask_address(data['from'])} -> "
            f"{data['to']}{entry_point}: "
            f"{json.dumps(body, ensure_ascii=False)}{media}",
            flush=True,
        )


def _print_media(data: dict[str, Any], status: str) -> None:
    """One line per attachment of a media.archived event: the object, or why there is none."""
    for index, item in enumerate(data["media"]):
        if item["archived"]:
            where = f"s3://{item['bucket']}/{item['key']} {item['contentType']} {item['size']:,} B"
            print(f"{status} {data['messageSid']} media {index}: {where} sha256 {item['sha256'][:16]}…", flush=True)
        else:
            print(f"{status} {data['messageSid']} media {index}: not archived: {item['reason']}", flush=True)


def _start_twilio(args: argparse.Namespace, token: str, webhook_url: str) -> Any:
    """The Twilio API stand-in (devtools/twilio_api) on free ports, with the local account, token and number,
    checking what it serves against Twilio's description when `make twilio-openapi` fetched it. None when
    --twilio-api-url names another server."""
    if args.twilio_api_url:
        return None
    from devtools.twilio_api import TwilioStandIn
    from devtools.twilio_api.spec import SpecMissing, load_spec

    try:
        spec = load_spec()
    except SpecMissing:
        spec = None
    standin = TwilioStandIn.start(host=args.host, spec=spec, verbose=args.verbose)
    standin.add_account(friendly_name="Local account", sid=TEST_ACCOUNT_SID, auth_token=token)
    standin.add_number(TEST_ACCOUNT_SID, DEMO_NUMBER, sms_url=webhook_url)
    standin.add_content(
        TEST_ACCOUNT_SID,
        DEMO_TEMPLATE,
        friendly_name="appointment_reminder",
        variables={"1": "12/1", "2": "3pm"},
        sid=DEMO_TEMPLATE_SID,
    )
    return standin


def _register_demo(session: Any, numbers_table: str, reply: str) -> None:
    """The seeded number as an entry point with an auto-reply, on SMS and on WhatsApp: a newcomer's first text is
    answered, and a WhatsApp command has a sender of its channel."""
    from twilio_inbound.numbers import NumberConfig
    from twilio_inbound.numbers_table import NumberRegistry

    registry = NumberRegistry(session.client("dynamodb"), numbers_table)
    registry.put(NumberConfig(DEMO_NUMBER, name="demo", auto_reply=reply))
    registry.put(NumberConfig(f"whatsapp:{DEMO_NUMBER}", name="demo-whatsapp", auto_reply=reply))


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    endpoint_kind = dict(args.parameter).get("WebhookEndpoint", "HttpApi")
    if endpoint_kind != "HttpApi":  # function URLs are an AWS-side choice: the same event, served here as /sms
        print(f"error: make local serves the HTTP API's routes only, not WebhookEndpoint={endpoint_kind}")
        return 2
    ports = [("webhook", args.host, args.port), ("emulator", args.host, args.emulator_port)]
    for name, host, port in [*ports, *([("console", LOOPBACK, args.console_port)] if args.console_port else [])]:
        if not port_is_free(host, port):
            print(f"error: {name} port {host}:{port} is already in use (choose another with --help)")
            return 2

    endpoint = f"http://{args.host}:{args.emulator_port}"
    token = signing_token()
    _point_at_emulator(endpoint, args.verbose)
    # Imported after the environment is set: boto3 and the functions read it once.
    import boto3

    from devtools.emulator import EmulatorProcess

    emulator = EmulatorProcess(args.host, args.emulator_port)  # moto's server, in a process of its own
    emulator.start()
    # First Ctrl-C/SIGTERM: stop taking requests and drain; a second one: stop draining.
    closing, interrupted = threading.Event(), threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: (interrupted if closing.is_set() else closing).set())
    signal.signal(signal.SIGINT, lambda *_: (interrupted if closing.is_set() else closing).set())
    stop = threading.Event()
    webhook_url = f"http://{args.host}:{args.port}/sms"
    twilio = _start_twilio(args, token, webhook_url)
    args.twilio_api_url = args.twilio_api_url or twilio.base_url
    running: _Running | None = None
    console: Console | None = None
    try:
        session = boto3.session.Session(region_name=REGION)  # the emulator checks nothing yet (devtools/iam/local.py)
        stack, outputs, signing = _provision(session, args, token)
        console = _console(args, outputs, twilio, webhook_url)
        running = _start_functions(signing, stack, args, endpoint, stop, observe=console.observe if console else None)
        outputs.update(
            {
                "WebhookUrl": webhook_url,
                "TwilioApiUrl": args.twilio_api_url,
                **({"TwilioStandInAdminUrl": twilio.admin_url} if twilio else {}),
            }
        )
        if console:
            console.start(signing)  # outside any function: the operator's credentials
            outputs["ConsoleUrl"] = console.url
        _write_outputs(args.outputs, outputs)
        _print_banner(args, token, webhook_url, endpoint, twilio is not None, bus=outputs.get("EventBusName", ""))
        if console:
            print(f"console   {console.url}   (developer tool: 127.0.0.1 only, never deployed)", flush=True)
        while not closing.wait(0.5):  # a short wait: the main thread gets back to the signal handler even when busy
            pass
        _drain(running, args.drain_seconds, interrupted)
    finally:
        stop.set()
        if console:
            console.stop()
        # One deadline for every thread (each is a daemon): a busy machine must not add up per-thread timeouts.
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        for thread in running.threads if running else []:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if twilio:
            twilio.stop()
        emulator.stop()
        args.outputs.unlink(missing_ok=True)
    return 0


def _console(args: argparse.Namespace, outputs: dict[str, Any], twilio: Any, webhook_url: str) -> Console | None:
    """The console in the browser (devtools/console), unless --console-port 0."""
    if not args.console_port:
        return None
    from devtools.console.server import Console

    return Console(
        port=args.console_port,
        outputs=outputs,
        stack_name=args.stack_name,
        standin=twilio,
        account_sid=TEST_ACCOUNT_SID,
        webhook_url=webhook_url,
    )


def _point_at_emulator(endpoint: str, verbose: bool) -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",  # fake, for the emulator  # nosec B105
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            # Lambda's Python runtime ships botocore without awscrt, so it signs in Python; here awscrt is installed
            # (for sam) and its signer encodes each request body again: ~3 ms more per SNS PublishBatch.
            "BOTO_DISABLE_CRT": "true",
            "POWERTOOLS_LOG_LEVEL": "INFO" if verbose else "WARNING",
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.ERROR)


def _provision(session: Any, args: argparse.Namespace, token: str) -> tuple[Any, dict[str, Any], Any]:
    """The template's resources and roles in the emulator, the stack's outputs, and the session that signs as
    each function (the emulator enforcing identity policies from then on)."""
    from devtools.template import Stack, load_template

    # The token goes where the deployed stack keeps it: a Secrets Manager secret (here, in the emulator).
    # With the account's SID, so the sender has REST credentials for the Twilio API stand-in.
    secret = json.dumps({"primary": token, "accountSid": TEST_ACCOUNT_SID})
    secret_arn = session.client("secretsmanager").create_secret(
        Name=f"{args.stack_name}/twilio-auth-token", SecretString=secret
    )["ARN"]
    stack = Stack(
        session,
        template=load_template(args.template),
        stack_name=args.stack_name,
        parameters={
            **dict(args.parameter),
            "TwilioAuthTokenSecretArn": secret_arn,
            "PublicBaseUrl": args.public_base_url,
        },
    ).provision()
    if args.demo_reply:  # as the operator, before the roles are enforced
        _register_demo(session, stack.physical["NumbersTable"]["Ref"], args.demo_reply)
    outputs = {
        **stack.parameters,  # what it ran with (RetentionDays, ...): the CLI reads a deployed stack's the same way
        **stack.outputs(),
        "EmulatorEndpoint": os.environ["AWS_ENDPOINT_URL"],
        "Region": REGION,
        "StackName": args.stack_name,
        "TwilioAuthTokenSecretArn": secret_arn,
        "StatusCallbackUrl": _status_callback_url(args),
    }
    return stack, outputs, _run_as_roles(session, stack, os.environ["AWS_ENDPOINT_URL"], outputs)


def _run_as_roles(session: Any, stack: Any, endpoint: str, outputs: dict[str, Any]) -> Any:
    """The template's roles in the emulator, each function signing as its role, then enforcement on; returns the
    session the functions and pollers use. The outputs get the operator's credentials (an emulator IAM user that
    may do anything: the CLI's, the console's, the tests')."""
    from devtools.iam.acting import Attribution, function_folders
    from devtools.iam.local import FunctionCredentials, enforce, set_up_identities, sign_as_functions
    from devtools.iam.record import RECORD_FOLDER_VARIABLE, FileSink, install
    from devtools.iam.report import names_of
    from devtools.iam.roles import function_roles

    roles = function_roles(stack)
    credentials, operator = set_up_identities(session, roles)
    attribution = Attribution(function_folders(stack.template))
    record = os.environ.get(RECORD_FOLDER_VARIABLE)
    if record:  # the integration tests check every call against the roles (tests/iam_check.py)
        policies = {function: role.policies for function, role in roles.items()}
        origins = {function: role.origins for function, role in roles.items()}
        document = json.dumps({"roles": policies, "origins": origins, "names": names_of(stack)})
        (Path(record) / "roles.json").write_text(document, encoding="utf-8")
    install(attribution, FileSink(Path(record) / "calls.jsonl") if record else lambda recorded: None)
    botocore.handlers.BUILTIN_HANDLERS.append(("after-call", _print_denial))
    signing = sign_as_functions(FunctionCredentials(attribution, credentials, operator), REGION)
    enforce(endpoint)
    outputs.update(
        {"EmulatorAccessKeyId": operator["AccessKeyId"], "EmulatorSecretAccessKey": operator["SecretAccessKey"]}
    )
    return signing


def _print_denial(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """One line per call AWS (the emulator) refused: who, the action and resource, AWS's error code."""
    code = parsed.get("Error", {}).get("Code", "")
    recorded = context.get("iam_recorded")
    if code in ("AccessDenied", "AccessDeniedException") and recorded is not None:
        who = recorded.caller or "the local stack"
        for request in recorded.requests:
            print(f"denied    {who} {request.action} on {request.resource} ({code})", flush=True)


def _write_outputs(path: Path, outputs: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(outputs, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)  # readers never see a half-written file


def _print_banner(
    args: argparse.Namespace, token: str, webhook_url: str, endpoint: str, standin: bool, *, bus: str
) -> None:
    token_note = "from TWILIO_AUTH_TOKEN" if token != TEST_AUTH_TOKEN else f"{token} (documented test token)"
    print(f"webhook   {webhook_url}", flush=True)
    print(f"token     {token_note}", flush=True)
    print(f"emulator  {endpoint} (region {REGION})", flush=True)
    print(f"twilio    {args.twilio_api_url} ({'Twilio API stand-in' if standin else '--twilio-api-url'})", flush=True)
    if bus:  # PublishTo: what the emulator does of EventBridge (docs/eventbridge.md, "Locally")
        print(f"bus       {bus} (rules to SQS, archive and replay; no API destination calls or schemas)", flush=True)
    print(f"outputs   {args.outputs}", flush=True)
    if args.demo_reply:
        print(
            f"demo      {DEMO_NUMBER} is registered (names demo, and demo-whatsapp on WhatsApp) and answers every "
            "text (--no-demo-reply: not)",
            flush=True,
        )
    if standin:
        print(f'template  {DEMO_TEMPLATE_SID} "{DEMO_TEMPLATE}" (a WhatsApp template: --content-sid)', flush=True)
    print("try it    make send ARGS='--body hello'   (Ctrl-C stops)", flush=True)


def _drain(running: _Running, seconds: float, interrupted: threading.Event) -> None:
    """Stops taking requests, then lets the pollers deliver what is stored, for at most `seconds`."""
    from devtools.drain import drain, summary

    began = time.monotonic()
    print(f"stopping  no new requests; delivering what is stored (up to {seconds:g} s, Ctrl-C again: now)", flush=True)
    unanswered = running.gateway.close(timeout=seconds)
    left = drain([thread.poller for thread in running.pollers], began + seconds, interrupted, unanswered)
    print(summary(left, time.monotonic() - began), flush=True)


@dataclass
class _Running:
    gateway: GatewayServer
    pollers: list[PollingThread]
    threads: list[threading.Thread]


def _start_functions(
    session: Any,
    stack: Any,
    args: argparse.Namespace,
    endpoint: str,
    stop: threading.Event,
    *,
    observe: Callable[[str, Invoke], Invoke] | None = None,
) -> _Running:
    """Loads every function of the template and starts its event sources; the gateway serves the webhook.
    `observe` (the console's) wraps every function's invoke."""
    from devtools.apigw import GatewayServer
    from devtools.lambda_runtime import load_function
    from devtools.pollers import PollingThread, QueuePoller, StreamPoller
    from twilio_inbound.sends_table import SendIntentStore

    # The template's environment, but pointed at the emulator and quieter unless --verbose.
    overrides = {
        "AWS_ENDPOINT_URL": endpoint,
        "POWERTOOLS_LOG_LEVEL": os.environ["POWERTOOLS_LOG_LEVEL"],
        # CloudWatch metric lines (EMF) only mean something in AWS; shown with --verbose.
        "POWERTOOLS_METRICS_DISABLED": "false" if args.verbose else "true",
        # The sender calls the Twilio API (the stand-in), and gives it this gateway's /status as StatusCallback.
        "TWILIO_API_URL": args.twilio_api_url,
        "API_URL": f"http://{args.host}:{args.port}",
        # A registry change (`make numbers ARGS='add …'`) takes effect at once here, not within a minute.
        "REGISTRY_CACHE_SECONDS": "0",
    }
    functions = stack.functions()
    invokers = {logical_id: load_function(spec, overrides) for logical_id, spec in functions.items()}
    if observe is not None:
        invokers = {logical_id: observe(logical_id, invoke) for logical_id, invoke in invokers.items()}
    pollers: list[PollingThread] = []
    for logical_id, spec in functions.items():
        for source in spec.events:
            invoke = invokers[logical_id]
            poller: StreamPoller | QueuePoller
            if source.kind == "DynamoDB":
                poller = StreamPoller(session, source.arn, invoke, source.properties, function=logical_id)
            else:
                if logical_id == "ConsumerFunction":
                    invoke = _printing(invoke)
                elif logical_id == "SenderFunction":
                    intents = SendIntentStore(session.client("dynamodb"), stack.physical["SendsTable"]["Ref"])
                    invoke = _printing_sends(invoke, intents)
                poller = QueuePoller(session, source.arn, invoke, source.properties, function=logical_id)
            pollers.append(PollingThread(f"{logical_id}-{source.kind}", poller, stop))

    # The HTTP API's routes, as the template's HttpApi events declare them (/sms, /status).
    routes = {path: invokers[logical_id] for logical_id, spec in functions.items() for path in spec.routes}
    if "/status" in routes:
        routes["/status"] = _printing_statuses(routes["/status"])
    gateway = GatewayServer((args.host, args.port), routes, verbose=args.verbose)
    threads: list[threading.Thread] = [*pollers, threading.Thread(target=gateway.serve_forever, name="gateway")]
    for thread in threads:
        thread.daemon = True
        thread.start()
    return _Running(gateway, pollers, threads)


def _printing(invoke: Any) -> Any:
    def wrapped(event: dict[str, Any]) -> Any:
        result = invoke(event)
        _print_deliveries(event, result)
        return result

    return wrapped


def _status_callback_url(args: argparse.Namespace) -> str:
    base = args.public_base_url or f"http://{args.host}:{args.port}"
    return base.rstrip("/") + "/status"


def _printing_sends(invoke: Any, intents: SendIntentStore) -> Any:
    """One line per send command the sender took, and one per command it did not send, with the reason."""

    def wrapped(event: dict[str, Any]) -> Any:
        keys = []
        for record in event["Records"]:
            try:
                command = json.loads(record["body"])
                target = (
                    f"in reply to {command['inReplyTo']}"
                    if "inReplyTo" in command
                    else "to " + mask_address(str(command.get("to", "")))
                )
                print(f"send      {command.get('idempotencyKey', '?')} {target}", flush=True)
                keys.append(str(command["idempotencyKey"]))
            except (ValueError, KeyError, TypeError, AttributeError):
                print(f"send      {record['messageId']}: not a send command", flush=True)
        try:
            return invoke(event)
        finally:
            for key in keys:
                intent = intents.get(key)
                if intent is not None and intent.state in ("refused", "failed", "unknown"):
                    print(f"{intent.state:<9} {key}: {mask_numbers(intent.reason)}", flush=True)

    return wrapped


def _printing_statuses(invoke: Any) -> Any:
    """One line per status callback Twilio (the stand-in) posted, with the answer it got."""

    def wrapped(event: dict[str, Any]) -> Any:
        result = invoke(event)
        form = dict(parse_qsl(base64.b64decode(event.get("body") or "").decode("utf-8", "replace")))
        error = f" error {form['ErrorCode']}" if form.get("ErrorCode") else ""
        refused = f": {str(result.get('body', '')).strip()}" if result.get("statusCode") != 200 else ""
        print(
            f"status    {form.get('MessageSid', '?')} {form.get('MessageStatus', '?'):<11} -> "
            f"{mask_address(form.get('To', ''))}{error} ({result.get('statusCode')}{refused})",
            flush=True,
        )
        return result

    return wrapped


if __name__ == "__main__":
    sys.exit(main())
