"""A page opened without the key its server printed (a bookmark, a pinned second-screen tab,
the address typed by hand) says what to do in plain words instead of retrying for ever;
opened from the printed address, every link it offers carries the key on. Real Chromium."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Browser

from live_attune.server.app import address


def test_pages_without_the_key_say_to_open_the_printed_address(browser: Browser,
                                                               pages: str) -> None:
    plain = pages.partition("?")[0].removesuffix("reports.html")
    requests: list[str] = []
    page = browser.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.goto(plain + "index.html")
    assert page.inner_text("#conn") == "no key: open the address live-attune printed"
    page.wait_for_timeout(1500)  # it does not try to connect, now or later
    assert not [r for r in requests if "/ws" in r]
    page.goto(plain + "calibration.html")
    assert page.inner_text("#conn") == "no key: open the address live-attune printed"
    page.goto(plain + "reports.html")
    page.wait_for_function("document.getElementById('list-note').textContent !== ''")
    assert page.inner_text("#list-note") == ("This page needs its key: open the address "
                                             "live-attune printed.")
    page.close()


def test_links_carry_the_key(browser: Browser, pages: str) -> None:
    key = urlsplit(pages).query
    page = browser.new_page()
    page.goto(address(pages, "index.html?offline"))
    assert page.get_attribute("#reports-link", "href") == f"reports.html?{key}"
    page.goto(pages)
    assert page.get_attribute("#live-link", "href") == f"index.html?{key}"
    page.wait_for_function("document.getElementById('list-note').textContent !== ''")
    assert page.inner_text("#list-note") == "No stored sessions yet."
    page.close()
