"""Full-page screenshots of every page, light and dark, at 1440 px and 390 px, to look at after a UI change.

    make run                                   # in another terminal: the app with demo data
    .venv/bin/python bench/screenshots.py --url http://127.0.0.1:8050 --user admin --password PASSWORD

Pictures go to ``var/screenshots/<page>-<light|dark>-<width>.png`` (``--out`` to change). ``--only`` takes
a comma-separated list of paths. Uses Debian's Chromium (/usr/bin/chromium) through Playwright.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

PAGES = (
    "/",
    "/overview",
    "/daily-comparison",
    "/countries",
    "/world-map",
    "/concurrent-calls",
    "/billing",
    "/cdrs",
    "/rates",
    "/rates/simulator",
    "/alarms",
    "/alarm-report",
    "/destination-alerts",
    "/threats",
    "/mail-report",
    "/exports",
    "/profile",
    "/admin/users",
    "/admin/groups",
    "/admin/switches",
    "/admin/settings",
    "/admin/audit",
    "/admin/import",
    "/admin/rates",
    "/admin/diagnostic",
    "/admin/outbox",
)
WIDTHS = {1440: 900, 390: 844}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def shoot(url: str, user: str, password: str, out: Path, pages: tuple[str, ...]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    taken = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        for theme in ("light", "dark"):
            for width, height in WIDTHS.items():
                context = browser.new_context(base_url=url, viewport={"width": width, "height": height})
                # The theme switch keeps its choice in local storage (callbacks/shell.py).
                context.add_init_script(f"localStorage.setItem('theme-store', '{str(theme == 'dark').lower()}')")
                page = context.new_page()
                page.goto("/login")
                page.fill("#username", user)
                page.fill("#password", password)
                page.click("button[type=submit]")
                page.wait_for_load_state("networkidle")
                for path in pages:
                    page.goto(path)
                    page.wait_for_load_state("networkidle")
                    page.wait_for_timeout(800)  # charts draw after their data arrives
                    name = re.sub(r"[^a-z0-9]+", "-", path.strip("/")) or "dashboard"
                    target = out / f"{name}-{theme}-{width}.png"
                    page.screenshot(path=str(target), full_page=True)
                    taken.append(target)
                context.close()
        browser.close()
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8050")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--out", type=Path, default=Path("var/screenshots"))
    parser.add_argument("--only", default="", help="comma-separated paths (default: every page)")
    args = parser.parse_args()
    pages = tuple(p for p in args.only.split(",") if p) or PAGES
    for path in shoot(args.url, args.user, args.password, args.out, pages):
        print(path)


if __name__ == "__main__":
    main()
