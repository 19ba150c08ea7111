"""The documentation site: it builds with strict checking, fetches nothing from elsewhere when viewed, its
reference pages are what the code generates, and its links work on GitHub and on the site alike."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest
from selenium.webdriver.common.by import By

from devtools import docs_reference
from devtools.docs_reference import site_link, stale_pages
from devtools.template import ROOT
from tests.browser import chromium

MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
EXTERNAL_ASSET = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=\"(?:https?:)?//[^\"]+\"[^>]*>")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as `make docs` builds it: strict, so a broken link or anchor, a page missing from the nav or a
    stale reference page fails the build."""
    site_dir = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": str(Path(sys.executable).parent)},
        check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    return site_dir


def test_the_site_builds_strict_with_a_page_per_guide_and_reference(site: Path) -> None:
    for page in ("getting-started", "guides/connect-numbers", "guides/whatsapp", "guides/upgrade", "reference/cli"):
        assert (site / page / "index.html").exists(), page
    # the repository's root pages are pages of the site too
    for page in ("CHANGELOG", "CONTRIBUTING", "SECURITY"):
        assert "<h1" in (site / page / "index.html").read_text(encoding="utf-8"), page


def test_the_site_loads_nothing_from_another_host(site: Path) -> None:
    # a script, image, stylesheet or preconnect from another host (a plain link to another site is fine)
    pages = list(site.rglob("*.html"))
    external = {
        f"{page.relative_to(site)}: {tag}"
        for page in pages
        for tag in EXTERNAL_ASSET.findall(page.read_text(encoding="utf-8"))
        if "<link" not in tag or "stylesheet" in tag or "preconnect" in tag
    }
    assert not external, external
    # diagrams: mermaid blocks, and mermaid's own script served by the site (the theme loads it from a CDN
    # only when the page has not defined it)
    architecture = (site / "ARCHITECTURE" / "index.html").read_text(encoding="utf-8")
    assert '<pre class="mermaid">' in architecture
    assert '<script src="../javascripts/mermaid.min.js"></script>' in architecture
    assert (site / "javascripts" / "mermaid.min.js").stat().st_size > 1_000_000
    # the theme's bundle fetches mermaid from unpkg only when no `mermaid` is defined (checked in Chromium with
    # every other host unreachable: the diagrams render); a theme that always fetched it would fail here
    (bundle,) = (site / "assets" / "javascripts").glob("bundle.*.min.js")
    assert re.search(r'typeof mermaid=="undefined"[^;]{0,80}\?\w+\("https://unpkg\.com/mermaid', bundle.read_text())


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_the_diagrams_render_in_a_browser_that_can_reach_no_other_host(site: Path, tmp_path: Path) -> None:
    # GIVEN the site served on 127.0.0.1, and a browser for which every other host does not exist
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    web = chromium(tmp_path, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    origin = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        # WHEN a person opens the architecture page
        web.get(origin + "ARCHITECTURE/")
        # THEN both diagrams are drawn (the theme swaps each <pre class="mermaid"> for its rendered picture)
        drawn = "return [...document.querySelectorAll('div.mermaid')].map(d => d.getBoundingClientRect().height)"
        deadline = time.monotonic() + 20
        while len(heights := web.execute_script(drawn)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(heights) == 2, heights
        assert min(heights) > 200, heights
        assert not web.find_elements(By.CSS_SELECTOR, "pre.mermaid")
        # AND everything the page loaded came from the site itself
        loaded = web.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert any(url.endswith("/javascripts/mermaid.min.js") for url in loaded)
        assert all(url.startswith(origin) for url in loaded), loaded
    finally:
        web.quit()
        server.shutdown()


def test_the_reference_pages_are_what_the_code_generates() -> None:
    assert stale_pages() == [], "run `make reference`"


def test_the_reference_pages_do_not_depend_on_who_generates_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a developer whose shell holds a Twilio token and API URL
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "a-developers-own-token")
    monkeypatch.setenv("TWILIO_API_URL", "http://127.0.0.1:7299")
    # WHEN the pages are generated THEN they are the checked-in ones: no value of theirs is written into the docs
    assert stale_pages() == []


def test_a_stale_reference_page_stops_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.exceptions import PluginError

    # GIVEN a copy of docs/ whose CLI reference lacks an option the parser has
    shutil.copytree(ROOT / "docs" / "reference", tmp_path / "reference")
    cli_page = tmp_path / "reference" / "cli.md"
    cli_page.write_text(cli_page.read_text(encoding="utf-8").replace("| `--backfill` |", "| `--fill` |"))
    monkeypatch.setattr(docs_reference, "DOCS", tmp_path)
    # WHEN the site is built THEN the hook stops it and says how to fix it
    with pytest.raises(PluginError, match=r"docs/reference/cli\.md differ.*make reference"):
        docs_reference.on_pre_build(MkDocsConfig())


def test_every_option_parameter_output_alarm_and_field_is_on_a_reference_page() -> None:
    from devtools.template import load_template
    from twilio_inbound_cli.main import build_parser

    cli = (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")

    def check(prog: str, parser: argparse.ArgumentParser) -> None:
        assert prog == "twilio-inbound" or f"# {prog}\n" in cli, prog
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, command in action.choices.items():
                    check(f"{prog} {name}", command)
            elif not isinstance(action, argparse._HelpAction):
                assert all(f"`{flag}" in cli for flag in action.option_strings), (prog, action.option_strings)

    check("twilio-inbound", build_parser())
    template = load_template()
    parameters = (ROOT / "docs" / "reference" / "template.md").read_text(encoding="utf-8")
    alarms = (ROOT / "docs" / "reference" / "alarms.md").read_text(encoding="utf-8")
    assert all(f"| `{name}` |" in parameters for name in [*template["Parameters"], *template["Outputs"]])
    alarm_names = [name for name, value in template["Resources"].items() if value["Type"] == "AWS::CloudWatch::Alarm"]
    assert all(f"## {name}\n" in alarms for name in alarm_names)
    events = (ROOT / "docs" / "reference" / "events.md").read_text(encoding="utf-8")
    assert "| `data.entryPoint.routeKey` | string | yes |" in events
    assert "| `data.media[].bucket` | string (at least 3 character(s)) |  |" in events  # archived entries only


@pytest.mark.parametrize("path", sorted((ROOT / "schemas").glob("*.json")), ids=lambda path: path.name)
def test_each_schema_has_examples_that_it_accepts(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["examples"]
    for example in schema["examples"]:
        jsonschema.Draft202012Validator(schema).validate(example)


@pytest.mark.parametrize(
    ("page", "target", "on_the_site"),
    [
        ("docs/guides/upgrade.md", "../../CHANGELOG.md", "../CHANGELOG.md"),
        ("docs/index.md", "../SECURITY.md", "SECURITY.md"),
        ("CHANGELOG.md", "docs/guides/upgrade.md", "guides/upgrade.md"),
        ("CONTRIBUTING.md", "docs/ARCHITECTURE.md", "ARCHITECTURE.md"),
        ("docs/guides/media.md", "../reference/events.md", "../reference/events.md"),
        ("docs/guides/media.md", "../../template.yaml", None),  # code is not a page: the build reports it
        ("docs/index.md", "https://example.com/x.md", None),
    ],
)
def test_one_relative_link_works_on_github_and_on_the_site(page: str, target: str, on_the_site: str | None) -> None:
    assert site_link(page, target) == on_the_site


@pytest.mark.parametrize("document", ["README.md", "CHANGELOG.md", "CONTRIBUTING.md", "SECURITY.md"])
def test_the_root_documents_links_reach_files_of_the_repository(document: str) -> None:
    text = re.sub(r"```.*?```|`[^`\n]*`", "", (ROOT / document).read_text(encoding="utf-8"), flags=re.DOTALL)
    relative = [link for link in MARKDOWN_LINK.findall(text) if "://" not in link and not link.startswith("#")]
    missing = [link for link in relative if not (ROOT / link.split("#")[0]).exists()]
    assert not missing, missing
