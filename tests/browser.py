"""The machine's Chromium, driven by selenium through Debian's chromedriver (never a downloaded browser), for the
tests that look at a page as a person does: the console's and the documentation site's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

# Headless, no network of its own, a fresh profile.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1100",
)


def chromium(profile: Path, *flags: str) -> WebDriver:
    """A browser with `profile` as its user data; skips the test where Chromium or its driver is missing."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (binary and driver):
        pytest.skip(
            "no chromium and chromedriver on this machine: the browser tests are skipped "
            "(Debian: apt-get install chromium chromium-driver; `make test` does so as root)"
        )
    options = Options()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, *flags, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    web = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    web.implicitly_wait(0)
    return web
