"""A small DevTools-protocol client for headless Chromium (Debian's package), enough to drive the HTML report as an
analyst would: load a page, click, read the DOM, resize, screenshot, print, and catch console errors, exceptions
and network requests. It talks to the browser over a loopback websocket (websocket-client); nothing else runs."""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome:", "devtools:")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing; `make test` installs Debian's chromium package")
        pytest.skip("chromium is not installed (make test installs it)")
    return found


def chromium_flags(profile: Path) -> list[str]:
    return [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ]  # fmt: skip


class Browser:
    """One headless Chromium and one page in it; `events` collects what the page reported."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 900) -> None:
        websocket = pytest.importorskip("websocket")
        self.process = subprocess.Popen(
            [chromium(), *chromium_flags(profile), "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        url = None
        for line in self.process.stderr:  # type: ignore[union-attr]
            if found := re.search(r"DevTools listening on (ws://\S+)", line):
                url = found.group(1)
                break
        if url is None:
            self.close()
            raise RuntimeError("chromium did not start its DevTools server")
        self.socket = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict] = []
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.resize(width, height)

    def send(self, method: str, session: str | None = None, **params: object) -> dict:
        """One command; events that arrive before its answer are kept."""
        message_id = next(self.ids)
        message: dict = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def call(self, method: str, **params: object) -> dict:
        return self.send(method, self.session, **params)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        """The first event `method` not yet waited for, reading more from the browser until it comes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if event.get("method") == method and not event.get("_seen"):
                    event["_seen"] = True
                    return event
            self.events.append(json.loads(self.socket.recv()))
        raise TimeoutError(method)

    def open(self, page: Path) -> None:
        self.call("Page.navigate", url=page.as_uri())
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> object:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def resize(self, width: int, height: int = 900) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def pdf(self, path: Path) -> Path:
        self.call("Emulation.setEmulatedMedia", media="print")
        path.write_bytes(base64.b64decode(self.call("Page.printToPDF", printBackground=False)["data"]))
        self.call("Emulation.setEmulatedMedia", media="")
        return path

    def allow_downloads(self, directory: Path) -> None:
        self.send("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(directory), eventsEnabled=True)

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and CSP violations the page reported."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(str(params["exceptionDetails"]))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(str(params.get("args")))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(params["entry"]["text"])
        return found

    def requests(self) -> list[str]:
        """Every URL the page asked for that is not its own file or an in-page object."""
        urls = [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]
        return [url for url in urls if not url.startswith(LOCAL_SCHEMES)]

    def close(self) -> None:
        if getattr(self, "socket", None) is not None:
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
