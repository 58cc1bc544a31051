"""Headless Chromium driven over the DevTools protocol: open a page, collect console errors,
evaluate JavaScript and take a screenshot. No driver: Chromium and a websocket client.

Chromium is the Debian package (`/usr/bin/chromium`), installed by `.ci/run` when missing.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from websockets.sync.client import ClientConnection, connect

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1200,900",  # charts size themselves to the window when they draw
    # Nothing leaves the machine: every host name fails to resolve, so a page that needs the
    # network (a CDN script, a web font) shows it as a console error.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-port=0",
]


def require_chromium() -> None:
    """Tests that need the browser fail in CI without it (never skip silently), skip here."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


# A Plotly chart drew its data: a trace (bars, lines, funnel) or a heatmap's image.
DRAWN_MARKS = "g.trace, g.hm image"
# Every Plotly chart of the page has drawn.
CHARTS_DRAWN = (
    "[...document.querySelectorAll('.js-plotly-plot')]"
    f".every(p => p.querySelector('{DRAWN_MARKS}'))"
)


@dataclass
class Page:
    """One tab: send DevTools commands, keep every console error and exception it logs."""

    socket: ClientConnection
    session_id: str
    errors: list[str] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def send(self, method: str, timeout: float = 30, **params) -> dict:
        message_id = next(self._ids)
        self.socket.send(
            json.dumps(
                {"id": message_id, "method": method, "params": params, "sessionId": self.session_id}
            )
        )
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_for(self, event: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message.get("method") == event:
                return message.get("params", {})

    def evaluate(self, expression: str):
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 30) -> None:
        """Poll a JavaScript condition until it is true (charts draw after the load event)."""
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(f"not true in {timeout} s: {expression.strip()[:80]}")
            time.sleep(0.1)

    def screenshot(self, target: Path, width: int = 1200) -> None:
        """The whole page, `width` CSS pixels wide, as PNG."""
        height = self.evaluate("document.documentElement.scrollHeight")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        target.write_bytes(base64.b64decode(shot["data"]))

    def _receive(self, deadline: float) -> dict:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no answer from Chromium in time")
        message = json.loads(self.socket.recv(timeout=remaining))
        self._note_error(message)
        return message

    def _note_error(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append(
                " ".join(str(arg.get("value", arg.get("description"))) for arg in params["args"])
            )
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(details.get("exception", {}).get("description", details["text"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(f"{params['entry']['text']} {params['entry'].get('url', '')}")


@contextmanager
def open_page(url: str, timeout: float = 60) -> Iterator[Page]:
    """Start Chromium with a fresh profile, open `url` and wait for its load event."""
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: its helpers end with it
        )
        try:
            port, path = _devtools_address(Path(profile), process, timeout)
            with connect(f"ws://127.0.0.1:{port}{path}", max_size=None) as socket:
                socket.send(
                    json.dumps({"id": 1, "method": "Target.createTarget", "params": {"url": ""}})
                )
                target = _result(socket, 1)["targetId"]
                socket.send(
                    json.dumps(
                        {
                            "id": 2,
                            "method": "Target.attachToTarget",
                            "params": {"targetId": target, "flatten": True},
                        }
                    )
                )
                page = Page(socket, _result(socket, 2)["sessionId"], _ids=itertools.count(3))
                for domain in ("Page", "Runtime", "Log"):
                    page.send(f"{domain}.enable")
                page.send("Page.navigate", url=url)
                page.wait_for("Page.loadEventFired", timeout)
                yield page
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def _devtools_address(profile: Path, process: subprocess.Popen, timeout: float) -> tuple[str, str]:
    """Chromium writes the port it chose and the browser's websocket path to a file."""
    active_port = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with status {process.returncode}")
        if active_port.exists():
            lines = active_port.read_text().split()
            if len(lines) == 2:
                return lines[0], lines[1]
        time.sleep(0.05)
    raise TimeoutError("chromium did not open its DevTools port")


def _result(socket: ClientConnection, message_id: int) -> dict:
    while True:
        message = json.loads(socket.recv(timeout=30))
        if message.get("id") == message_id:
            if "error" in message:
                raise RuntimeError(str(message["error"]))
            return message["result"]


if __name__ == "__main__":
    # python -m tests.browser REPORT.html OUT.png: the screenshot the README shows.
    with open_page(Path(sys.argv[1]).resolve().as_uri()) as page:
        page.wait_until(CHARTS_DRAWN)
        page.screenshot(Path(sys.argv[2]))
        if page.errors:
            sys.exit("\n".join(page.errors))
