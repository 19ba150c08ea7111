"""`make local`: the whole pipeline on this machine, with no AWS account and no Docker.

An AWS emulator (moto server) holds template.yaml's own resources; an HTTP server stands in for API Gateway;
pollers stand in for Lambda's stream and queue event sources. Runs in the foreground until Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from devtools.template import ROOT
from twilio_inbound.redact import mask_address
from twilio_inbound_cli.signing import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from twilio_inbound_cli.target import LOCAL_OUTPUTS

DEFAULT_OUTPUTS = ROOT / LOCAL_OUTPUTS
REGION = "us-east-1"


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make local", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("LOCAL_HOST", "127.0.0.1"), help="address to listen on")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_PORT", "3000")), help="webhook port")
    parser.add_argument(
        "--emulator-port", type=int, default=int(os.environ.get("EMULATOR_PORT", "5000")), help="AWS emulator port"
    )
    parser.add_argument(
        "--twilio-port",
        type=int,
        default=int(os.environ.get("TWILIO_API_PORT", "5010")),
        help="the Twilio API stand-in's port (the sender's Messages.create goes there; it posts status callbacks)",
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
    parser.add_argument("--verbose", action="store_true", help="show the functions' JSON logs and HTTP lines")
    return parser.parse_args(argv)


def _parameter(value: str) -> tuple[str, str]:
    name, sep, text = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--parameter takes NAME=VALUE, not {value!r}")
    return name, text


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


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


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    for name, port in (("webhook", args.port), ("emulator", args.emulator_port), ("Twilio API", args.twilio_port)):
        if not _port_free(args.host, port):
            print(f"error: {name} port {args.host}:{port} is already in use (choose another with --help)")
            return 2

    endpoint = f"http://{args.host}:{args.emulator_port}"
    token = os.environ.get("TWILIO_AUTH_TOKEN", "").strip() or TEST_AUTH_TOKEN
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",  # fake, for the emulator  # nosec B105
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_LOG_LEVEL": "INFO" if args.verbose else "WARNING",
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.verbose else logging.ERROR)

    # Imported after the environment is set: boto3 and the functions read it once.
    import boto3

    from devtools.template import Stack

    emulator = _start_emulator(args)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    stoppers: list[Callable[[], None]] = []
    try:
        session = boto3.session.Session(region_name=REGION)
        # The token goes where the deployed stack keeps it: a Secrets Manager secret (here, in the emulator).
        # With the account's SID, so the sender has REST credentials for the Twilio API stand-in.
        secret = json.dumps({"primary": token, "accountSid": TEST_ACCOUNT_SID})
        secret_arn = session.client("secretsmanager").create_secret(
            Name=f"{args.stack_name}/twilio-auth-token", SecretString=secret
        )["ARN"]
        stack = Stack(
            session,
            stack_name=args.stack_name,
            parameters={
                **dict(args.parameter),
                "TwilioAuthTokenSecretArn": secret_arn,
                "PublicBaseUrl": args.public_base_url,
            },
        ).provision()
        webhook_url = f"http://{args.host}:{args.port}/sms"
        twilio = _start_twilio_standin(args, token, webhook_url)
        stoppers.append(twilio.stop)
        threads += _start_functions(session, stack, args, endpoint, stop, twilio_api_url=twilio.base_url)
        outputs = {
            **stack.outputs(),
            "WebhookUrl": webhook_url,
            "EmulatorEndpoint": endpoint,
            "Region": REGION,
            "StackName": args.stack_name,
            "TwilioAuthTokenSecretArn": secret_arn,
            "TwilioApiUrl": twilio.base_url,
            "StatusCallbackUrl": _status_callback_url(args),
        }
        args.outputs.parent.mkdir(parents=True, exist_ok=True)
        temporary = args.outputs.with_suffix(".tmp")
        temporary.write_text(json.dumps(outputs, indent=2) + "\n", encoding="utf-8")
        temporary.replace(args.outputs)  # readers never see a half-written file

        token_note = "from TWILIO_AUTH_TOKEN" if token != TEST_AUTH_TOKEN else f"{token} (documented test token)"
        print(f"webhook   {webhook_url}", flush=True)
        print(f"token     {token_note}", flush=True)
        print(f"emulator  {endpoint} (region {REGION})", flush=True)
        print(f"twilio    {twilio.base_url} (Twilio API stand-in: sends, signed status callbacks)", flush=True)
        print(f"outputs   {args.outputs}", flush=True)
        print("try it    make send ARGS='--body hello'   (Ctrl-C stops)", flush=True)

        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        # Woken every 0.2 s: SIGTERM may be delivered to another thread, and a main thread blocked on the event
        # for good would never run the handler (a busy stack then ignored SIGTERM).
        while not stop.wait(0.2):
            pass
        print("stopping", flush=True)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        for stopper in stoppers:
            stopper()
        emulator.stop()
        args.outputs.unlink(missing_ok=True)
    return 0


def _start_functions(
    session: Any, stack: Any, args: argparse.Namespace, endpoint: str, stop: threading.Event, *, twilio_api_url: str
) -> list[threading.Thread]:
    """Loads every function of the template and starts its event sources; the gateway serves the webhook."""
    from devtools.apigw import GatewayServer
    from devtools.lambda_runtime import load_function
    from devtools.pollers import PollingThread, QueuePoller, StreamPoller

    # The template's environment, but pointed at the emulator and quieter unless --verbose.
    overrides = {
        "AWS_ENDPOINT_URL": endpoint,
        "POWERTOOLS_LOG_LEVEL": os.environ["POWERTOOLS_LOG_LEVEL"],
        # CloudWatch metric lines (EMF) only mean something in AWS; shown with --verbose.
        "POWERTOOLS_METRICS_DISABLED": "false" if args.verbose else "true",
        # The sender calls the Twilio API stand-in, and gives it this gateway's /status as StatusCallback.
        "TWILIO_API_URL": twilio_api_url,
        "API_URL": f"http://{args.host}:{args.port}",
    }
    functions = stack.functions()
    invokers = {logical_id: load_function(spec, overrides) for logical_id, spec in functions.items()}
    threads: list[threading.Thread] = []
    for logical_id, spec in functions.items():
        for source in spec.events:
            invoke = invokers[logical_id]
            poller: StreamPoller | QueuePoller
            if source.kind == "DynamoDB":
                poller = StreamPoller(session, source.arn, invoke, source.properties)
            else:
                if logical_id == "ConsumerFunction":
                    invoke = _printing(invoke)
                elif logical_id == "SenderFunction":
                    invoke = _printing_sends(invoke)
                poller = QueuePoller(session, source.arn, invoke, source.properties)
            threads.append(PollingThread(f"{logical_id}-{source.kind}", poller, stop))

    # The HTTP API's routes, as the template's HttpApi events declare them (/sms, /status).
    routes = {path: invokers[logical_id] for logical_id, spec in functions.items() for path in spec.routes}
    if "/status" in routes:
        routes["/status"] = _printing_statuses(routes["/status"])
    gateway = GatewayServer((args.host, args.port), routes, verbose=args.verbose)
    threads.append(threading.Thread(target=gateway.serve_forever, name="gateway", daemon=True))
    stopper = threading.Thread(target=_close_on_stop, args=(gateway, stop), name="gateway-stop", daemon=True)
    threads.append(stopper)
    for thread in threads:
        thread.start()
    return threads


def _close_on_stop(gateway: Any, stop: threading.Event) -> None:
    stop.wait()
    gateway.shutdown()
    gateway.server_close()


def _printing(invoke: Any) -> Any:
    def wrapped(event: dict[str, Any]) -> Any:
        result = invoke(event)
        _print_deliveries(event, result)
        return result

    return wrapped


def _start_emulator(args: argparse.Namespace) -> Any:
    """moto's server, in this process, with DynamoDB's writes atomic (devtools/moto_atomic.py)."""
    from moto.server import ThreadedMotoServer

    from devtools.moto_atomic import serialize_dynamodb_writes

    serialize_dynamodb_writes()
    emulator = ThreadedMotoServer(ip_address=args.host, port=args.emulator_port, verbose=False)
    emulator.start()
    return emulator


def _start_twilio_standin(args: argparse.Namespace, token: str, webhook_url: str) -> Any:
    """The Twilio API stand-in, in this process: the documented test account (the stack's token) and its number,
    whose inbound webhook is this stack's."""
    from devtools.twilio_api import TwilioStandIn

    twilio = TwilioStandIn.start(host=args.host, port=args.twilio_port, verbose=args.verbose)
    account = twilio.add_account(friendly_name="Local account", sid=TEST_ACCOUNT_SID, auth_token=token)
    twilio.add_number(account.sid, "+15005550001", sms_url=webhook_url)
    return twilio


def _status_callback_url(args: argparse.Namespace) -> str:
    base = args.public_base_url or f"http://{args.host}:{args.port}"
    return base.rstrip("/") + "/status"


def _printing_sends(invoke: Any) -> Any:
    """One line per send command the sender took."""

    def wrapped(event: dict[str, Any]) -> Any:
        for record in event["Records"]:
            try:
                command = json.loads(record["body"])
                target = (
                    f"in reply to {command['inReplyTo']}"
                    if "inReplyTo" in command
                    else "to " + mask_address(str(command.get("to", "")))
                )
                print(f"send      {command.get('idempotencyKey', '?')} {target}", flush=True)
            except (ValueError, KeyError, TypeError, AttributeError):
                print(f"send      {record['messageId']}: not a send command", flush=True)
        return invoke(event)

    return wrapped


def _printing_statuses(invoke: Any) -> Any:
    """One line per status callback Twilio (the stand-in) posted, with the answer it got."""

    def wrapped(event: dict[str, Any]) -> Any:
        result = invoke(event)
        form = dict(parse_qsl(base64.b64decode(event.get("body") or "").decode("utf-8", "replace")))
        error = f" error {form['ErrorCode']}" if form.get("ErrorCode") else ""
        print(
            f"status    {form.get('MessageSid', '?')} {form.get('MessageStatus', '?'):<11} -> "
            f"{mask_address(form.get('To', ''))}{error} ({result.get('statusCode')})",
            flush=True,
        )
        return result

    return wrapped


if __name__ == "__main__":
    sys.exit(main())
