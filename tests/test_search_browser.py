"""The search page in a real headless Chromium over a real uvicorn server: type a query, apply a
facet with the keyboard, open the comparable cooperations, use the pooling view, switch to
English, and check the phone layout. Screenshots are saved under ``tests/artifacts/``.

Chromium is driven through the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
messages separated by NUL bytes on file descriptors 3 and 4), so no websocket or WebDriver
package is needed. Every host but 127.0.0.1 fails to resolve: the page must need no CDN.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures_sparql import running_server

from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
QUERY = "aider des villages sahéliens à gérer leurs forages"
TIMEOUT = 60.0


def _high_pipe() -> tuple[int, int]:
    """A pipe whose ends are above 9, so bash can move them to 3 and 4 without clashes."""
    ends = []
    for fd in os.pipe():
        ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    return ends[0], ends[1]


class Browser:
    """One headless Chromium and one page, driven over the DevTools protocol on a pipe."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        commands_r, commands_w = _high_pipe()
        answers_r, answers_w = _high_pipe()
        # Chromium reads commands on fd 3 and writes answers on fd 4.
        shell = f'exec "$@" 3<&{commands_r} 4>&{answers_w} {commands_r}<&- {answers_w}>&-'
        self.process = subprocess.Popen(
            ["bash", "-c", shell, "bash", CHROMIUM, *FLAGS, f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "about:blank"],
            pass_fds=(commands_r, answers_w), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(commands_r)
        os.close(answers_w)
        self._out, self._in = commands_w, answers_r
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable")

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            self.send("Browser.close", session=False)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._out)
        os.close(self._in)

    # ------------------------------------------------------------ protocol
    def _message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("Chromium ne répond pas")
            ready, _, _ = select.select([self._in], [], [], remaining)
            if ready:
                chunk = os.read(self._in, 1 << 16)
                if not chunk:
                    raise RuntimeError("Chromium s'est arrêté")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: bool = True) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            answer = self._message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result
            self.events.append(answer)

    def wait_for(self, event: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not any(e.get("method") == event for e in self.events):
            self.events.append(self._message(deadline))

    # ------------------------------------------------------------ page actions
    def loads(self, action: Any) -> None:
        """Run ``action`` (which navigates) and wait for the new page to finish loading."""
        self.events.clear()
        action()
        self.wait_for("Page.loadEventFired")

    def go(self, url: str) -> None:
        self.loads(lambda: self.send("Page.navigate", {"url": url}))

    def js(self, expression: str) -> Any:
        answer = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in answer:
            raise RuntimeError(answer["exceptionDetails"])
        return answer["result"].get("value")

    def key(self, key: str, code: str, key_code: int, text: str = "") -> None:
        base = {"key": key, "code": code, "windowsVirtualKeyCode": key_code}
        self.send("Input.dispatchKeyEvent", {"type": "keyDown", **base,
                                             **({"text": text} if text else {})})
        self.send("Input.dispatchKeyEvent", {"type": "keyUp", **base})

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element."""
        x, y = self.js(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            e.scrollIntoView({{block: "center", behavior: "instant"}});
            const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2];
        }})()""")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                   "button": "left", "clickCount": 1})

    def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        self.send("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        self.js("window.scrollTo(0, 0)")
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path = ARTIFACTS / name
        path.write_bytes(base64.b64decode(data))
        return path


@pytest.fixture(scope="module")
def server(built_kb: KnowledgeBase) -> Iterator[str]:
    app = create_app(built_kb)
    with running_server(app) as url:
        yield url


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("chromium absent : « apt-get install -y chromium » (fait par make test)")
    chromium = Browser(tmp_path / "profile")
    chromium.viewport(1280, 900)
    try:
        yield chromium
    finally:
        chromium.close()


def test_type_a_query_apply_a_facet_and_open_comparables(browser: Browser, server: str) -> None:
    browser.go(server + "/")
    assert browser.js("document.documentElement.lang") == "fr"
    # the stylesheet and the script come from the app itself (any other host is unreachable)
    assert browser.js("getComputedStyle(document.querySelector('header.site'))"
                      ".borderBottomColor") == "rgb(0, 0, 145)"
    browser.screenshot("search-home.png")

    # type the query the way a user does, and press Enter
    browser.click("#q")
    browser.send("Input.insertText", {"text": QUERY})
    browser.loads(lambda: browser.key("Enter", "Enter", 13, "\r"))
    assert browser.js("new URLSearchParams(location.search).get('q')") == QUERY
    assert browser.js("document.querySelectorAll('li.card').length") > 0
    assert browser.js("document.getElementById('q').value") == QUERY
    browser.screenshot("search-results.png")

    # apply a facet with the keyboard: focus the first country, press Space
    box = browser.js("document.querySelector('#facet-country input[type=checkbox]').id")
    country = browser.js(f"document.getElementById('{box}').value")
    label = browser.js(f"document.querySelector('label[for={box}]').firstChild.textContent.trim()")
    browser.js(f"document.getElementById('{box}').focus()")
    browser.loads(lambda: browser.key(" ", "Space", 32, " "))
    assert browser.js("new URLSearchParams(location.search).getAll('country')") == [country]
    assert browser.js(f"document.getElementById('{box}').checked") is True
    assert browser.js("document.activeElement.id") == box  # focus kept for keyboard users
    countries = browser.js("[...document.querySelectorAll('li.card')].map(c => c.textContent)")
    assert countries and all(label in text for text in countries)
    browser.screenshot("search-facet.png")

    # open the comparable cooperations of the first result
    title = browser.js("document.querySelector('li.card h3').textContent.trim()")
    browser.loads(lambda: browser.click("li.card a.similar"))
    assert browser.js("document.querySelector('h1').textContent") == "Coopérations comparables"
    assert title in browser.js("document.querySelector('section.source').textContent")
    assert browser.js("document.querySelectorAll('.why li').length") > 0
    browser.screenshot("comparables.png")


def test_the_page_fits_a_phone(browser: Browser, server: str) -> None:
    browser.viewport(390, 844, mobile=True)
    browser.go(server + "/?q=" + QUERY.replace(" ", "+"))
    assert browser.js("document.documentElement.scrollWidth") <= 390
    assert browser.js("document.getElementById('facets').open") is False  # folded on a phone
    browser.screenshot("search-phone.png")
    browser.click("#facets > summary")
    assert browser.js("document.getElementById('facets').open") is True


def test_pooling_view_and_english_toggle(browser: Browser, server: str) -> None:
    browser.go(server + "/mutualisation")
    # the country with the most water projects, chosen in the two selects
    country = browser.js("""(async () => {
        const data = await (await fetch('/api/search?theme=eau-assainissement')).json();
        const iso = data.facets.country[0].value;
        document.getElementById('country').value = iso;
        document.getElementById('theme').value = 'eau-assainissement';
        return iso; })()""")
    browser.loads(lambda: browser.click("#mutualisation button[type=submit]"))
    assert f"country={country}" in browser.js("location.search")
    assert browser.js("document.querySelectorAll('ul.authorities > li').length") > 0
    browser.screenshot("pooling.png")
    browser.loads(lambda: browser.click("a.lang"))
    assert browser.js("document.documentElement.lang") == "en"
    assert browser.js("document.querySelector('h1').textContent") == "Pooling"
    browser.go(server + "/")  # the choice is remembered
    assert browser.js("document.querySelector('label[for=q]').textContent") == (
        "What are you looking for?")
