"""The mentor page's initial load: API bytes on the wire and time to "Live", per server.

Give it one or more running servers (e.g. the code before and after a change, each from
its own checkout: `python -m dashboard.serve --port 8001`); it signs in as each in turn,
alternating, in one run, with Debian's Chromium through Playwright, and prints a table:

    .venv/bin/python bench/initial_load.py --url http://127.0.0.1:8001 \
        --url http://127.0.0.1:8002 --rounds 5

Bytes are the encoded (on the wire) body plus headers of every `/api/` answer the page
fetched from the sign-in until one second after its badge said Live; the time is from
the sign-in's submit to the badge saying Live. CLS is the dashboard page's cumulative
layout shift as web-vitals and Lighthouse report it (the largest session window of shifts
not caused by input) from its first paint until ``--settle`` seconds after Live, with the
demo simulator's live updates arriving meanwhile if the server runs it (target: 0.05 or
less); the last column sums every shift of that time.
"""

from __future__ import annotations

import argparse
import statistics
import time

from playwright.sync_api import Request, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Sums every layout shift not caused by input on each page the context opens.
CLS_OBSERVER = """
window.__cls = 0;
window.__window = { start: -1e9, last: -1e9, value: 0 };
window.__worst = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.hadRecentInput) continue;
    window.__cls += entry.value;
    // web-vitals' CLS: the largest session window (shifts less than 1 s apart, 5 s at most).
    const w = window.__window;
    if (entry.startTime - w.last > 1000 || entry.startTime - w.start > 5000) {
      w.start = entry.startTime;
      w.value = 0;
    }
    w.last = entry.startTime;
    w.value += entry.value;
    window.__worst = Math.max(window.__worst, w.value);
  }
}).observe({ type: "layout-shift", buffered: true });
"""


def measure(browser, url: str, user: str, settle: float) -> tuple[int, int, float, float, float]:
    """Return (API bytes on the wire, answers, seconds from sign-in to Live, CLS as
    web-vitals reports it, the sum of every shift)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(CLS_OBSERVER)
    sizes: dict[str, int] = {}

    def on_finished(request: Request) -> None:
        if "/api/" in request.url:
            wire = request.sizes()
            sizes[request.url] = wire["responseBodySize"] + wire["responseHeadersSize"]

    try:
        page = context.new_page()
        page.on("requestfinished", on_finished)
        page.goto(f"{url}/login/")
        page.fill("#id_username", user)
        page.fill("#id_password", user)
        started = time.monotonic()
        page.click("button[type=submit]")
        page.wait_for_selector("#connection[data-state=live]", timeout=60_000)
        to_live = time.monotonic() - started
        page.wait_for_timeout(1000)
        wire = sum(sizes.values())
        page.wait_for_timeout(max(0.0, settle - 1) * 1000)
        return (
            wire,
            len(sizes),
            to_live,
            page.evaluate("window.__worst"),
            page.evaluate("window.__cls"),
        )
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", action="append", required=True, help="a running server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--user", default="mentor", help="demo login (password = name)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after Live for CLS")
    args = parser.parse_args()
    results: dict[str, list[tuple[int, int, float, float, float]]] = {url: [] for url in args.url}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless"])
        for _ in range(args.rounds):
            for url in args.url:
                results[url].append(measure(browser, url, args.user, args.settle))
        browser.close()
    print(
        "| server | API answers | API bytes on the wire | sign-in to Live, ms (median / max) "
        "| CLS (median / max) | all shifts summed (median / max) |"
    )
    print("|---|---|---|---|---|---|")
    for url, runs in results.items():
        wire = statistics.median(r[0] for r in runs)
        times = [r[2] * 1000 for r in runs]
        print(
            f"| {url} | {runs[0][1]} | {wire / 1024:.1f} KB | "
            f"{statistics.median(times):.0f} / {max(times):.0f} | "
            f"{statistics.median(r[3] for r in runs):.3f} / {max(r[3] for r in runs):.3f} | "
            f"{statistics.median(r[4] for r in runs):.3f} / {max(r[4] for r in runs):.3f} |"
        )


if __name__ == "__main__":
    main()
