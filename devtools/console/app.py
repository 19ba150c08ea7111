"""The console's pages: server-rendered HTML that works without JavaScript, parts of it re-rendered on their own
(/console/parts/...) for console.js to swap in when the event stream (/console/events) says they changed.

Forms post and redirect back (303) with a notice; console.js posts them with fetch and asks for JSON instead.
Every request must name this listener as its Host (no DNS rebinding), and a POST from another origin is refused.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, abort, jsonify, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from devtools.console import dead_letters, registry
from devtools.console.journal import Flow
from devtools.console.observe import twiml_replies
from devtools.console.phone import WHATSAPP, Picture, address
from twilio_inbound.media_bucket import NoSuchMedia, find_media_key
from twilio_inbound.numbers import InvalidNumberConfig
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.outbound import MalformedCommand
from twilio_inbound_cli.send_sms_command import checked_command, queue_command

if TYPE_CHECKING:
    from devtools.console.server import Console

HERE = Path(__file__).resolve().parent
SAMPLE_PICTURE = HERE / "static" / "sample.png"
DEFAULT_PHONE = "+14155550100"
DEFAULT_NUMBER = "+15005550001"
MAX_PICTURE_BYTES = 5 * 1024 * 1024  # Twilio's limit for an MMS attachment
STREAM_SECONDS = 15.0  # a comment line this often keeps the event stream open through idle minutes
PARTS = ("chat", "messages", "numbers", "dead-letters")
# Pictures the console shows inline; anything else archived is offered as a download, never rendered here.
INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def create_app(console: Console) -> Flask:
    app = Flask(__name__, static_url_path="/console/static", static_folder="static", template_folder="templates")
    app.config["MAX_CONTENT_LENGTH"] = MAX_PICTURE_BYTES + 64 * 1024
    app.jinja_env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)
    app.jinja_env.filters["clock"] = lambda moment: moment.strftime("%H:%M:%S")
    app.jinja_env.globals.update(twiml_replies=twiml_replies, inline_images=INLINE_IMAGES)
    pages = Pages(console)
    app.before_request(pages.same_origin_only)
    app.after_request(_security_headers)
    for rule, view, methods in (
        ("/console", pages.index, ["GET"]),
        ("/console/messages/<key>", pages.message, ["GET"]),
        ("/console/parts/<name>", pages.part, ["GET"]),
        ("/console/events", pages.events, ["GET"]),
        ("/console/media/<sid>/<int:index>", pages.media, ["GET"]),
        ("/console/phone", pages.text, ["POST"]),
        ("/console/messages/<key>/reply", pages.reply, ["POST"]),
        ("/console/numbers", pages.save_number, ["POST"]),
        ("/console/numbers/remove", pages.remove_number, ["POST"]),
        ("/console/dead-letters/<name>/replay", pages.replay, ["POST"]),
    ):
        app.add_url_rule(rule, view.__name__, view, methods=methods, strict_slashes=False)
    return app


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _done(notice: str, ok: bool, back: str) -> Any:
    """JSON for console.js, else a redirect back to the page with the notice (POST, redirect, GET)."""
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"ok": ok, "notice": notice})
    parts = urlsplit(back)
    query = "&".join(filter(None, [parts.query, urlencode({"notice": notice})]))
    return redirect(f"{parts.path}?{query}#{parts.fragment or 'main'}", code=303)


def _picture(upload: FileStorage | None, sample: bool) -> Picture | None:
    if upload is not None and upload.filename:
        return Picture(upload.mimetype or "application/octet-stream", upload.read(), upload.filename)
    if sample:
        return Picture("image/png", SAMPLE_PICTURE.read_bytes(), SAMPLE_PICTURE.name)
    return None


class Pages:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.numbers = NumberRegistry(console.target.client("dynamodb"), console.target.output("NumbersTableName"))

    def same_origin_only(self) -> None:
        """A page elsewhere must not drive the console: not by DNS rebinding (Host), not by a form (Origin)."""
        own = urlsplit(self.console.url).netloc
        if request.host not in (own, own.replace("127.0.0.1", "localhost")):
            abort(403)
        origin = request.headers.get("Origin")
        if request.method == "POST" and origin is not None and urlsplit(origin).netloc != request.host:
            abort(403)

    # ---- what the pages show
    def _phone(self) -> dict[str, Any]:
        phone_of = self.console.phone
        known = phone_of.numbers() if phone_of else []
        phone = request.values.get("phone") or DEFAULT_PHONE
        number = request.values.get("number") or (known[0] if known else DEFAULT_NUMBER)
        chat = phone_of.chat(phone, number) if phone_of else []
        chat_flows = {item.sid: self.console.journal.flow(item.sid) for item in chat if item.mine}
        channel = WHATSAPP if request.values.get("channel") == WHATSAPP else "sms"
        return {
            "phone": phone,
            "number": number,
            "channel": channel,
            "known": known,
            "chat": chat,
            "chat_flows": chat_flows,
        }

    def _registry(self) -> dict[str, Any]:
        configs = self.numbers.all()
        return {
            "configs": configs,
            "editing": next((config for config in configs if config.number == request.args.get("edit")), None),
            "keywords_text": registry.keywords_text,
            "opt_outs": registry.opt_outs(self.console.target),
        }

    def _views(self, *names: str) -> dict[str, Any]:
        # The version first: what changes while the page is rendered reaches it through the event stream.
        found: dict[str, Any] = {"version": self.console.journal.version, "console": self.console}
        found["notice"] = request.args.get("notice", "")
        if "chat" in names:
            found.update(self._phone())
        if "messages" in names:
            found["flows"] = self.console.journal.flows()
        if "numbers" in names:
            found.update(self._registry())
        if "dead-letters" in names:
            found["queues"] = dead_letters.peek(self.console.target.client("sqs"), self.console.outputs)
        return found

    def _flow(self, flow: Flow) -> dict[str, Any]:
        replies = [self.console.journal.flow(reply) for reply in flow.replies]
        queues = dead_letters.peek(self.console.target.client("sqs"), self.console.outputs)
        letters = [(queue, letter) for queue in queues for letter in queue.letters if letter.message_sid == flow.key]
        return {
            "flow": flow,
            "replies": [reply for reply in replies if reply],
            "letters": letters,
            "subscriptions": self._subscriptions(),
        }

    def _subscriptions(self) -> list[dict[str, str]]:
        """The topic's subscriptions and their filter policies, as SNS holds them now."""
        sns = self.console.target.client("sns")
        found = []
        listed = sns.list_subscriptions_by_topic(TopicArn=self.console.outputs["MessagesTopicArn"])["Subscriptions"]
        for subscription in listed:
            attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])["Attributes"]
            found.append(
                {
                    "endpoint": self.console.queue_name(subscription["Endpoint"]),
                    "filter": attributes.get("FilterPolicy") or "every event",
                }
            )
        return found

    def index(self) -> str:
        return render_template("index.html", **self._views(*PARTS))

    def message(self, key: str) -> str:
        flow = self.console.journal.flow(key)
        if flow is None:
            abort(404)
        return render_template("message.html", **self._flow(flow), **self._views())

    def part(self, name: str) -> str:
        if name == "flow":
            flow = self.console.journal.flow(request.args.get("key", ""))
            if flow is None:
                abort(404)
            return render_template("parts/flow.html", **self._flow(flow), **self._views())
        if name not in PARTS:
            abort(404)
        return render_template(f"parts/{name}.html", **self._views(name))

    def events(self) -> Response:
        """Server-sent events: the topics that changed ("messages", "flow:SM…", "phone", ...), as they change."""
        journal, stopping = self.console.journal, self.console.stopping
        # Where the page left off: the version it was rendered at, or the last event it got (a reconnection).
        since = request.headers.get("Last-Event-ID") or request.args.get("after", "")
        after = int(since) if since.isdigit() else journal.version

        def stream() -> Iterator[str]:
            version = after
            yield "retry: 1000\n\n"
            while not stopping.is_set():
                version, topics = journal.wait(version, STREAM_SECONDS)
                yield f"id: {version}\ndata: {json.dumps(sorted(topics))}\n\n" if topics else ": idle\n\n"

        return Response(stream(), mimetype="text/event-stream", headers={"X-Accel-Buffering": "no"})

    def media(self, sid: str, index: int) -> Response:
        """An archived attachment from the local media bucket (images inline, anything else as a download)."""
        s3 = self.console.target.client("s3")
        bucket = self.console.target.output("MediaBucketName")
        try:
            key = find_media_key(s3, bucket, sid, index)
        except (NoSuchMedia, ValueError):
            abort(404)
        stored = s3.get_object(Bucket=bucket, Key=key)
        response = Response(stored["Body"].read())
        if stored.get("ContentType") in INLINE_IMAGES:
            response.content_type = str(stored["ContentType"])
        else:
            response.content_type = "application/octet-stream"
            response.headers["Content-Disposition"] = f'attachment; filename="{Path(key).name}"'
        return response

    # ---- what the forms do
    def text(self) -> Any:
        """The phone texts the number: the stand-in holds the message (and picture), then calls the webhook."""
        form = request.form
        channel = WHATSAPP if form.get("channel") == WHATSAPP else "sms"
        phone, number = form.get("phone") or DEFAULT_PHONE, form.get("number") or DEFAULT_NUMBER
        back = url_for("index", phone=phone, number=number, channel=channel, _anchor="phone")
        if self.console.phone is None:
            return _done("No phone: this stack runs without the Twilio API stand-in (--twilio-api-url).", False, back)
        picture = _picture(request.files.get("picture"), form.get("sample") == "on")
        if not form.get("body") and picture is None:
            return _done("Type a message or attach a picture.", False, back)
        sent = self.console.phone.text(
            sender=address(phone, channel), to=address(number, channel), body=form.get("body", ""), picture=picture
        )
        if sent.status is None:
            return _done(f"The webhook could not be reached: {sent.error}", False, back)
        said = f"Sent {sent.message_sid}: the webhook answered {sent.status}"
        if sent.status >= 400:
            return _done(f"{said}, refused: {sent.answer.strip()}", True, back)
        replies = twiml_replies(sent.answer)
        return _done(f"{said}, reply: {replies[0]}" if replies else f"{said}, no reply", True, back)

    def reply(self, key: str) -> Any:
        """Answers a message as a subscribed service does: a send command with inReplyTo on the outbound queue."""
        back = request.form.get("back") or url_for("message", key=key)
        command = {"idempotencyKey": f"console:{uuid.uuid4()}", "inReplyTo": key, "body": request.form.get("body", "")}
        try:
            queued = queue_command(self.console.target, checked_command(command))
        except MalformedCommand as error:
            return _done(f"Not sent: {error}", False, back)
        return _done(f"Queued a reply to {key} ({command['idempotencyKey']}, queue message {queued})", True, back)

    def save_number(self) -> Any:
        back = url_for("index", _anchor="numbers")
        try:
            config = registry.config_from_form(request.form)
            self.numbers.put(config)  # the CLI's write, checked by NumberConfig.validate
        except InvalidNumberConfig as error:
            return _done(f"Not saved: {error}", False, back)
        self.console.journal.touch("numbers")
        return _done(f"Saved {config.number} ({'on' if config.enabled else 'off'})", True, back)

    def remove_number(self) -> Any:
        number = request.form.get("number", "")
        removed = self.numbers.remove(number)
        self.console.journal.touch("numbers")
        notice = f"Removed {number}" if removed else f"{number} is not registered"
        return _done(notice, removed, url_for("index", _anchor="numbers"))

    def replay(self, name: str) -> Any:
        back = request.form.get("back") or url_for("index", _anchor="dead-letters")
        try:
            said = dead_letters.replay(self.console.target, name)
        except KeyError:
            abort(404)
        self.console.journal.touch("dead-letters")
        return _done(f"{name}: {said}", True, back)
