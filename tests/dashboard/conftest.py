"""Real headless Chromium (Debian's, driven by Playwright) for the dashboard tests: one browser
per test module, a server of the dashboard's pages with no live session, and the live view
opened offline to be fed the golden messages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from live_attune.server.app import address
from tests.server.conftest import FIXTURES, start_reports

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
LAPTOP = (1280, 800)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module (each page is its own context: nothing is shared). Not for
    the whole session: while it runs, Playwright's loop owns the main thread, and tests
    elsewhere call ``asyncio.run`` there."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (scripts/setup.sh --test)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the dashboard's pages, served with no live session (as ``sessions
    serve``, with a store path of its own in a temporary directory): ``address(pages, P)``
    is page P with the server's key."""
    server = start_reports(tmp_path_factory.mktemp("store") / "sessions.db")
    yield server.url
    server.close()


def offline_page(browser: Browser, base: str, size: tuple[int, int] = LAPTOP) -> Page:
    """The live view with no session (``?offline``), nothing remembered from an earlier page:
    what it shows comes from the messages it is fed."""
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.goto(address(base, "index.html?offline"))
    page.evaluate("() => localStorage.clear()")
    page.reload()
    return page


def golden(name: str) -> dict[str, Any]:
    """A golden wire message (tests/fixtures/messages/), as the server sends it."""
    message: dict[str, Any] = json.loads((FIXTURES / "messages" / f"{name}.json").read_text())
    return message


def feed(page: Page, *messages: dict[str, Any]) -> None:
    for m in messages:
        page.evaluate("m => window.liveAttune.handle(m)", m)
