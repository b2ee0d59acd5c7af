"""The README's picture of the web page: ``impasto web`` driven by headless Chromium through one run.

    python benchmarks/screenshot.py                      # docs/web.png (sample pair, default quality, 384 px)
    python benchmarks/screenshot.py --size 256 --out /tmp/web.png

Needs the web extra and a Chromium (``scripts/get-chromium``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE.parent / "docs" / "web.png")
    parser.add_argument("--size", type=int, default=384)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "impasto", "web", "--port", str(port)],
                              env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(360):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 980})
            page.goto(url)
            page.locator("#sample").click()
            page.locator("#content img").wait_for(timeout=90_000)
            box = page.locator("#size input[type=number]")
            box.fill(str(args.size))
            box.press("Enter")
            page.locator("#paint").click()
            page.get_by_text("Done in").wait_for(timeout=600_000)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.evaluate("window.scrollTo(0, 0)")  # the page is taller than the window: its top, drop zones in view
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(60)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
