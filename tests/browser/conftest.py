"""Headless Chromium (Debian's package) driven by Playwright's Python package."""

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, Chromium keeps trying to reach Google's services, which this machine's network refuses.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def browser(django_db_setup: None) -> Iterator[Browser]:
    # Playwright's sync API keeps an asyncio loop registered on this thread between its calls, which
    # Django's async-safety check mistakes for async code. The tests' ORM calls are plain synchronous
    # calls on the main thread, so the check does not apply here (the servers under test are unaffected).
    # Package scope: the loop goes away with the browser, before async tests elsewhere need their own.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def signed_in_page(browser: Browser, live_server_url: str, session_cookie: Any) -> Any:
    """A function: a new page in its own browser context, signed in as `user`."""
    contexts = []

    def open_page(user: Any, *, width: int = 1280) -> Any:
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": session_cookie(user), "url": live_server_url}])
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
