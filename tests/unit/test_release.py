"""One release number everywhere a user can read it: pyproject.toml, the deployed template's metadata,
`twilio-inbound --version` and the changelog."""

from __future__ import annotations

import re
import tomllib

import pytest

from devtools.template import ROOT, load_template
from twilio_inbound_cli.main import main

SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?")


def project_version() -> str:
    version: str = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    return version


def test_the_version_is_semantic() -> None:
    assert SEMVER.fullmatch(project_version())


def test_the_template_carries_the_release() -> None:
    assert load_template()["Metadata"]["TwilioInbound"]["Version"] == project_version()


def test_the_command_prints_the_release(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"twilio-inbound {project_version()}\n"


def test_the_changelog_has_the_release_and_a_section_for_what_comes_next() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    version = project_version()
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.MULTILINE)
    assert headings[0] == "Unreleased"
    # the version is either released (its own section) or the one the unreleased changes will ship as
    unreleased = changelog.split("## [Unreleased]", 1)[1].split("\n## [", 1)[0]
    assert version in headings or f"released as {version}" in unreleased
    assert all(SEMVER.fullmatch(heading) for heading in headings[1:])
