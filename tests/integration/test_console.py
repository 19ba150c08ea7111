"""The console in a real browser (Debian's Chromium, driven by selenium through its own chromedriver), against a
`make local` stack of its own: what a person sees when they text the number, open a message, register a number,
and replay a dead letter. One stack and one browser for the module; each test reads the page, never the stack."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from devtools.console.app import SAMPLE_PICTURE
from devtools.local_process import LocalStackProcess
from devtools.local_stack import DEMO_REPLY
from tests.browser import chromium
from tests.integration.helpers import LocalStack
from twilio_inbound_cli.send_command import post_signed
from twilio_inbound_cli.signing import TEST_AUTH_TOKEN, inbound_form

pytestmark = pytest.mark.integration

AUTO_REPLY = "Thanks, the service got it."  # the example consumer's answer (AutoReplyText): sent, with statuses
TWIML_REPLY = "Hello from the registry"  # the number's auto-reply: in the webhook's TwiML, which Twilio sends
NUMBER = "+15005550001"
WAIT_SECONDS = 30.0
T = TypeVar("T")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    process = LocalStackProcess(
        tmp_path_factory.mktemp("console"), console=True, extra_args=("--parameter", f"AutoReplyText={AUTO_REPLY}")
    )
    yield LocalStack(process, process.wait_for_outputs())
    assert process.stop() == 0, process.log()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    web = chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield web
    web.quit()


@pytest.fixture(scope="module")
def console(stack: LocalStack, browser: WebDriver) -> str:
    url = stack.outputs["ConsoleUrl"]
    browser.get(url)
    return url


def eventually(find: Callable[[], T | None], what: str, browser: WebDriver, timeout: float = WAIT_SECONDS) -> T:
    """What `find` returns once it is truthy: the page updates by itself, without reloading."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = find()
        except (StaleElementReferenceException, WebDriverException):
            found = None  # the part was being swapped: look again
        if found:
            return found
        time.sleep(0.2)
    shown = browser.find_elements(By.TAG_NAME, "main")
    said = shown[0].text if shown else browser.page_source[:3000]
    raise AssertionError(f"never saw {what} at {browser.current_url}; the page said:\n{said}")


def texts(browser: WebDriver, css: str) -> Callable[[], list[str]]:
    """The matching elements' texts, read in one step: a part the live page swaps meanwhile is read again."""
    return lambda: [element.text for element in browser.find_elements(By.CSS_SELECTOR, css)]


def open_first(browser: WebDriver, css: str, what: str) -> None:
    """Clicks the first link of the first element matching `css`, found and clicked in one step (see `texts`)."""

    def opened() -> bool:
        found = browser.find_elements(By.CSS_SELECTOR, css)
        if found:
            found[0].find_element(By.TAG_NAME, "a").click()
        return bool(found)

    eventually(opened, what, browser)


def open_flow_of_mine(browser: WebDriver, *needles: str) -> None:
    """Opens the flow of the person's message whose bubble says every needle, found and clicked in one step."""

    def opened() -> bool:
        mine = browser.find_elements(By.CSS_SELECTOR, "#chat > li.mine")
        found = [item for item in mine if all(needle in item.text for needle in needles)]
        if found:
            found[0].find_element(By.PARTIAL_LINK_TEXT, "flow").click()
        return bool(found)

    eventually(opened, f"the message saying {needles}, and its flow", browser)


def text_of(browser: WebDriver, element_id: str, *needles: str) -> Callable[[], str | None]:
    """The element's text once it contains every needle."""

    def find() -> str | None:
        text = browser.find_element(By.ID, element_id).text
        return text if all(needle in text for needle in needles) else None

    return find


def field(browser: WebDriver, label: str) -> WebElement:
    """The form control a person finds by its label's text."""
    for candidate in browser.find_elements(By.TAG_NAME, "label"):
        if candidate.text.strip().startswith(label):
            target = candidate.get_attribute("for")
            return browser.find_element(By.ID, target) if target else candidate.find_element(By.TAG_NAME, "input")
    raise AssertionError(f"no field labelled {label!r}")


def button(browser: WebDriver, text: str) -> WebElement:
    return browser.find_element(By.XPATH, f"//button[normalize-space()={json.dumps(text)}]")


def bubbles(browser: WebDriver) -> list[str]:
    return [item.text for item in browser.find_elements(By.CSS_SELECTOR, "#chat > li")]


def text_the_number(browser: WebDriver, body: str, *, sample_picture: bool = False) -> None:
    field(browser, "Message").send_keys(body)
    if sample_picture:
        field(browser, "Picture").send_keys(str(SAMPLE_PICTURE))
    button(browser, "Send").click()


def test_the_console_is_a_local_tool_that_loads_nothing_from_elsewhere(console: str, browser: WebDriver) -> None:
    banner = browser.find_element(By.CSS_SELECTOR, ".devtool").text
    assert "Developer tool" in banner
    assert "127.0.0.1 only" in banner
    assert "Never deployed" in banner
    assert console.startswith("http://127.0.0.1:")
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(entry => entry.name)")
    assert loaded, "the page loads its own script and style"
    assert all(url.startswith(console.removesuffix("/console")) for url in loaded), loaded
    for label in ("Your phone", "Texting", "Message", "Picture", "Number", "Auto-reply"):
        assert field(browser, label).is_displayed()


def test_a_number_registered_from_the_page_is_listed_and_answers(console: str, browser: WebDriver) -> None:
    # GIVEN nothing is registered
    assert "No numbers registered" in browser.find_element(By.ID, "numbers").text
    browser.execute_script("window.notReloaded = true")
    # WHEN a person registers the phone's number with an auto-reply
    field(browser, "Number").send_keys(NUMBER)
    field(browser, "Name").send_keys("front-desk")
    field(browser, "Auto-reply").send_keys(TWIML_REPLY)
    button(browser, "Save number").click()
    # THEN the registry lists it, without a reload
    first_row = "#number-table tbody tr:first-child"
    cells = eventually(texts(browser, f"{first_row} th, {first_row} td"), "the number", browser)
    assert cells[:5] == [NUMBER, "front-desk", "on", "", TWIML_REPLY]
    assert browser.find_element(By.ID, "notice").text == f"Saved {NUMBER} (on)"
    assert browser.execute_script("return window.notReloaded") is True


def test_texting_the_number_shows_the_reply_and_the_delivered_status(console: str, browser: WebDriver) -> None:
    # WHEN the person texts the number from the page's phone, with the keyboard only
    browser.execute_script("window.notReloaded = true")
    field(browser, "Message").send_keys("Where is my order?")
    browser.switch_to.active_element.send_keys(Keys.TAB, Keys.TAB, Keys.TAB)  # past the picture and the sample
    assert browser.switch_to.active_element.text == "Send"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    # THEN the conversation shows the text, the TwiML reply, and the service's reply once it is delivered
    eventually(lambda: any("Where is my order?" in bubble for bubble in bubbles(browser)), "the text", browser)
    # the TwiML reply as Twilio sent it, in the thread with its own status
    twiml_reply = eventually(
        lambda: [bubble for bubble in bubbles(browser) if TWIML_REPLY in bubble and "delivered" in bubble],
        "the TwiML reply, delivered",
        browser,
    )
    assert "TwiML reply" in twiml_reply[0]
    sent = eventually(
        lambda: [bubble for bubble in bubbles(browser) if AUTO_REPLY in bubble and "delivered" in bubble],
        "the service's reply, delivered",
        browser,
    )
    assert f"{NUMBER} · sent by the stack" in sent[0]
    assert "webhook answered 200" in bubbles(browser)[0]
    # a screen reader heard of the new messages (the polite live region), and the notice said what happened
    heard = browser.find_element(By.ID, "announcer").get_attribute("textContent") or ""
    assert f"{NUMBER} sent: {AUTO_REPLY}" in heard
    assert f"reply: {TWIML_REPLY}" in browser.find_element(By.ID, "notice").text
    assert browser.execute_script("return window.notReloaded") is True
    # and the live list of messages has both directions
    listed = browser.find_element(By.ID, "message-list").text
    assert "Where is my order?" in listed
    assert AUTO_REPLY in listed


def test_a_message_flow_shows_its_answer_record_events_subscribers_and_reply(console: str, browser: WebDriver) -> None:
    # WHEN the person opens the message they sent
    open_flow_of_mine(browser, "Where is my order?")
    # THEN its flow shows the webhook's answer, the stored record decoded, the event and who received it
    steps = eventually(lambda: browser.find_element(By.ID, "steps").text, "the steps", browser)
    assert f"webhook answered 200, reply: {TWIML_REPLY}" in steps
    assert "stored (INSERT)" in steps
    assert "published twilio-inbound.message.received" in steps
    assert "SubscriberQueue → ConsumerFunction: processed" in browser.find_element(By.ID, "flow-events").text
    record = json.loads(browser.find_element(By.CSS_SELECTOR, "#flow-record pre").text)
    assert (record["body"], record["to"], record["channel"]) == ("Where is my order?", NUMBER, "sms")
    assert record["entryPoint"]["name"] == "front-desk"
    # and the reply the service sent, with its status
    eventually(text_of(browser, "flow-summary", AUTO_REPLY, "delivered"), "the reply, delivered", browser)


def test_answering_from_a_flow_sends_to_the_phone(console: str, browser: WebDriver) -> None:
    # GIVEN the flow of the person's message (the previous test opened it)
    field(browser, "Answer as a service").send_keys("A courier is on the way.")
    button(browser, "Send reply").click()
    # THEN the reply is listed with the statuses Twilio reported, up to delivered
    eventually(
        lambda: any(
            "A courier is on the way." in line and "delivered" in line
            for line in browser.find_element(By.ID, "flow-summary").text.splitlines()
        ),
        "the second reply, delivered",
        browser,
    )
    # every reply to the message is listed: the TwiML one, the service's, and this one
    assert browser.find_element(By.ID, "flow-summary").text.count("delivered") == 3
    browser.find_element(By.LINK_TEXT, "← All messages").click()
    eventually(
        lambda: any("A courier is on the way." in bubble and "delivered" in bubble for bubble in bubbles(browser)),
        "the answer on the phone",
        browser,
    )


def test_a_picture_is_archived_and_shown_from_the_bucket(console: str, browser: WebDriver) -> None:
    text_the_number(browser, "A photo of the parcel", sample_picture=True)
    open_flow_of_mine(browser, "parcel", "Picture attached (image/png)")
    # the archived picture, looked up afresh each time (the live page may re-render it), once it has loaded
    width = "const picture = document.querySelector('#flow-media img'); return picture && picture.naturalWidth"
    assert eventually(lambda: browser.execute_script(width), "the archived picture, loaded", browser) == 320
    assert "media.archived: 1 of 1 archived" in browser.find_element(By.ID, "steps").text
    browser.back()


def test_texting_on_whatsapp_is_answered_on_whatsapp(console: str, browser: WebDriver) -> None:
    # GIVEN the number's WhatsApp address registered too (only registered addresses send)
    browser.get(console)
    field(browser, "Number").send_keys(f"whatsapp:{NUMBER}")
    field(browser, "Name").send_keys("front-desk-whatsapp")
    button(browser, "Save number").click()
    eventually(text_of(browser, "number-table", f"whatsapp:{NUMBER}"), "the WhatsApp address", browser)
    # WHEN the person writes on WhatsApp
    browser.find_element(By.XPATH, "//label[normalize-space()='WhatsApp']/input").click()
    text_the_number(browser, "Hola, ¿dónde está mi pedido?")
    mine = eventually(
        lambda: [bubble for bubble in bubbles(browser) if "dónde está" in bubble], "the WhatsApp message", browser
    )
    assert "You · WhatsApp" in mine[0]
    eventually(
        lambda: "delivered" in bubbles(browser)[-1] and AUTO_REPLY in bubbles(browser)[-1],
        "the service's answer, delivered",
        browser,
    )
    listed = browser.find_element(By.ID, "message-list").text
    assert f"whatsapp:{NUMBER} → whatsapp:+14155550100" in listed
    browser.find_element(By.XPATH, "//label[normalize-space()='SMS / MMS']/input").click()


def test_a_forged_request_is_listed_as_refused_with_its_reason(
    stack: LocalStack, console: str, browser: WebDriver
) -> None:
    browser.get(console)
    form = inbound_form(body="let me in", to=NUMBER)
    assert post_signed(stack.url, form, "not-the-token")[0] == 403
    sid = dict(form)["MessageSid"]
    (row,) = eventually(texts(browser, f"#flow-{sid}"), "the refused request", browser)
    assert "refused 403" in row
    open_first(browser, f"#flow-{sid}", "the refused request's flow")
    steps = eventually(lambda: browser.find_element(By.ID, "steps").text, "the steps", browser)
    assert "webhook answered 403: refused, invalid signature" in steps
    assert "Not stored" in browser.find_element(By.ID, "flow-record").text


def test_a_stop_shows_in_the_opt_outs_and_the_refused_reply_says_why(
    stack: LocalStack, console: str, browser: WebDriver
) -> None:
    browser.get(console)
    text_the_number(browser, "STOP")
    opt_outs = eventually(texts(browser, "#opt-out-table tbody tr"), "the opt-out", browser)
    assert "+14155550100" in opt_outs[0]
    assert "opted out (STOP)" in opt_outs[0]
    text_the_number(browser, "Still there?")
    listed = eventually(
        lambda: [
            item.text
            for item in browser.find_elements(By.CSS_SELECTOR, "#message-list > li")
            if "refused" in item.text and "Out" in item.text
        ],
        "the refused reply",
        browser,
    )
    assert "+14155550100" in listed[0]


def test_a_dead_letter_is_shown_and_replayed_with_the_clis_replay(
    stack: LocalStack, console: str, browser: WebDriver
) -> None:
    # GIVEN a stream range the fanout function gave up on (Lambda's on-failure record, in the fanout's DLQ)
    browser.get(console)
    form = inbound_form(body="lost in the fanout", to=NUMBER)
    assert post_signed(stack.url, form, TEST_AUTH_TOKEN)[0] == 200
    sid = dict(form)["MessageSid"]
    streams = stack.client("dynamodbstreams")
    stream_arn = stack.client("dynamodb").describe_table(TableName=stack.outputs["MessagesTableName"])["Table"][
        "LatestStreamArn"
    ]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
    (sequence,) = [r["dynamodb"]["SequenceNumber"] for r in records if r["dynamodb"]["Keys"]["messageSid"]["S"] == sid]
    info = {"shardId": shard, "startSequenceNumber": sequence, "endSequenceNumber": sequence, "batchSize": 1}
    stack.client("sqs").send_message(
        QueueUrl=stack.outputs["FanoutDeadLetterQueueUrl"],
        MessageBody=json.dumps(
            {
                "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3},
                "version": "1.0",
                "timestamp": "2026-12-01T00:00:00.000Z",
                "DDBStreamBatchInfo": {**info, "streamArn": stream_arn},
            }
        ),
    )
    # THEN the page shows it, with what to do
    queue = eventually(text_of(browser, "dead-letters", "FanoutDeadLetterQueue: 1"), "the dead letter", browser)
    assert "RetryAttemptsExhausted" in queue
    # WHEN the person replays it
    button(browser, "Replay FanoutDeadLetterQueue").click()
    # THEN the CLI's replay republished the message, and the queue is empty
    eventually(
        lambda: "republished 1 message(s) from 1 dead letter(s)" in browser.find_element(By.ID, "notice").text,
        "the replay's outcome",
        browser,
    )
    eventually(
        lambda: "FanoutDeadLetterQueue: 0" in browser.find_element(By.ID, "dead-letters").text, "an empty DLQ", browser
    )
    browser.get(f"{console}/messages/{sid}")
    eventually(
        lambda: browser.find_element(By.ID, "steps").text.count("published twilio-inbound.message.received") == 2,
        "the message published again",
        browser,
    )


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Origin": "http://attacker.example"}, "a form on another site"),
        ({"Host": "attacker.example"}, "a name rebound to 127.0.0.1"),
    ],
)
def test_another_site_cannot_drive_the_console(console: str, headers: dict[str, str], why: str) -> None:
    request = urllib.request.Request(  # noqa: S310 (the console's own URL)
        f"{console}/numbers", data=b"number=%2B15005550099&enabled=on", method="POST", headers=headers
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert refused.value.code == 403, why


def test_a_narrow_window_keeps_everything_reachable(console: str, browser: WebDriver, tmp_path: Path) -> None:
    browser.get(console)
    browser.set_window_size(400, 900)
    try:
        wide, window = browser.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert wide <= window, "nothing wider than the window but the tables' own scrolling regions"
        assert field(browser, "Message").is_displayed()
    finally:
        browser.set_window_size(1280, 1100)


def test_a_screenshot_of_a_conversation(console: str, browser: WebDriver, tmp_path: Path) -> None:
    """The console guide's picture (CONSOLE_SCREENSHOT=docs/images/console.png writes it there)."""
    browser.get(console)
    eventually(lambda: len(bubbles(browser)) >= 4, "the conversation", browser)
    target = Path(os.environ.get("CONSOLE_SCREENSHOT") or tmp_path / "console.png")
    assert browser.save_screenshot(str(target))
    assert target.stat().st_size > 10_000


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A plain `make local`, as a newcomer runs it: no parameters, its demo number registered."""
    process = LocalStackProcess(tmp_path_factory.mktemp("newcomer"), console=True, demo_reply=True)
    yield LocalStack(process, process.wait_for_outputs())
    assert process.stop() == 0, process.log()


def test_a_newcomer_texting_a_plain_make_local_sees_a_reply_and_its_delivered_status(
    newcomer: LocalStack, browser: WebDriver
) -> None:
    # GIVEN a plain make local's console: the seeded number is registered, with the demo reply
    browser.get(newcomer.outputs["ConsoleUrl"])
    assert "demo" in eventually(text_of(browser, "number-table", NUMBER), "the demo number", browser)
    # WHEN the newcomer texts it from the page's phone, with no terminal command
    text_the_number(browser, "Hello?")
    # THEN the reply shows in the conversation, with its status up to delivered
    answered = eventually(
        lambda: [bubble for bubble in bubbles(browser) if DEMO_REPLY in bubble and "delivered" in bubble],
        "the demo reply, delivered",
        browser,
    )
    assert f"{NUMBER} · TwiML reply" in answered[0]
