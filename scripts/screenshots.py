"""Screenshot pages of a running portal at desktop and phone width (headless Debian Chromium).

    .venv/bin/python scripts/screenshots.py --base http://localhost:3000 --email admin@example.com \
        --password demo-password-1 --out test-artifacts/shots / /admin/orgs /admin/users
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://localhost:3000")
    parser.add_argument("--email", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--out", default="test-artifacts/shots")
    parser.add_argument("paths", nargs="*", default=["/"])
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for label, viewport in (("desktop", {"width": 1440, "height": 900}), ("phone", {"width": 375, "height": 812})):
            page = browser.new_page(viewport=viewport)
            if args.email:
                page.goto(f"{args.base}/login")
                page.get_by_test_id("login-email").fill(args.email)
                page.get_by_test_id("login-password").fill(args.password)
                page.get_by_test_id("login-submit").click()
                page.wait_for_url(f"{args.base}/", timeout=20000)
            for path in args.paths:
                page.goto(f"{args.base}{path}")
                page.wait_for_timeout(2500)
                name = (path.strip("/").replace("/", "_") or "home") + f"-{label}.png"
                page.screenshot(path=str(out / name), full_page=True)
                print(out / name)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
