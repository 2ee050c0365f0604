"""The report charts in a real browser: every bucket of a range with gaps drawn, honest ticks, the partial
period marked, a click opening the CDR search of exactly the calls drawn, a drag zooming the page's range,
readable dark mode, and views that survive a copied address."""

from datetime import date, datetime, time, timedelta

import pytest

from components.layout import NAV_SECTIONS
from data.admin import users
from tests.cdr_factory import UTC, call, ensure_switch, insert_calls
from tests.conftest import browser_login, open_page

NOW = datetime.now(UTC)
TODAY = NOW.date()
GAP_DAYS = (TODAY - timedelta(days=20), TODAY - timedelta(days=5))  # the only days with calls in 30
PER_GAP_DAY = (7, 4)


@pytest.fixture(scope="module")
def calls(app):
    switch = ensure_switch("chart-sw", "10.9.0.1")
    users.create_user("chart-cust", "chart-cust-pw-1", "customer", accountcodes=("c-1",))
    rows = []
    for day, count in zip(GAP_DAYS, PER_GAP_DAY, strict=True):
        rows += [call(switch, datetime.combine(day, time(10, i), UTC), billsec=30 * (i % 2)) for i in range(count)]
    # today's calls, in the past: 3 hours ago, or halfway since midnight early in the (UTC) day
    recent = NOW - min(timedelta(hours=3), (NOW - datetime.combine(TODAY, time(0), UTC)) / 2)
    rows += [call(switch, recent + timedelta(seconds=i), billsec=20, cause=16) for i in range(5)]
    insert_calls(rows)
    return switch


def graph_data(page, graph_id: str) -> list[dict]:
    return page.evaluate(
        """(id) => {
            const outer = document.getElementById(id);
            const gd = outer.classList.contains('js-plotly-plot') ? outer : outer.querySelector('.js-plotly-plot');
            return gd.data.map(t => ({x: t.x, y: t.y, customdata: t.customdata, marker: t.marker}));
        }""",
        graph_id,
    )


def wait_for_buckets(page, graph_id: str, count: int) -> None:
    page.wait_for_function(
        """([id, count]) => {
            const outer = document.getElementById(id);
            const gd = outer && (outer.classList.contains('js-plotly-plot')
                ? outer : outer.querySelector('.js-plotly-plot'));
            return gd && gd.data && gd.data.length && gd.data[0].x && gd.data[0].x.length === count;
        }""",
        arg=[graph_id, count],
        timeout=20_000,
    )


def month_range(months_back: int) -> int:
    first = TODAY.replace(day=1)
    for _ in range(months_back):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def open_last_30_days(page, switch: int) -> dict:
    """The overview of the last 30 days of ``switch``'s calls, as an admin; its calls trace."""
    browser_login(page, "admin", "admin-secret")
    page.goto(f"/overview?start={TODAY - timedelta(days=29)}&end={TODAY}&switch={switch}")
    wait_for_buckets(page, "overview-calls-graph", 30)
    (trace,) = graph_data(page, "overview-calls-graph")
    return trace


def test_a_range_with_gaps_draws_every_day_as_a_day(page, calls):
    trace = open_last_30_days(page, calls)
    by_day = dict(zip((x[:10] for x in trace["x"]), trace["y"], strict=True))
    assert [by_day[d.isoformat()] for d in GAP_DAYS] == list(PER_GAP_DAY)
    assert by_day[TODAY.isoformat()] == 5  # the recent calls
    assert sorted(v for v in by_day.values() if v == 0) == [0] * 27  # days without calls are zeros, not gaps
    ticks = page.locator("#overview-calls-graph .xtick text").all_text_contents()
    assert ticks and not any(":" in t for t in ticks)  # days, never times of day
    assert page.title() == "Overview · Dialstat"
    assert page.console_errors == []


def test_twelve_months_are_twelve_months_with_empty_ones_as_zero(page, calls):
    browser_login(page, "admin", "admin-secret")
    page.goto(f"/overview?preset=12m&switch={calls}")
    wait_for_buckets(page, "overview-calls-graph", 12)
    (trace,) = graph_data(page, "overview-calls-graph")
    assert trace["x"][0][:10] == month_range(11).isoformat()
    assert sum(trace["y"]) == sum(PER_GAP_DAY) + 5 and trace["y"].count(0) >= 9
    ticks = page.locator("#overview-calls-graph .xtick text").all_text_contents()
    assert ticks and not any(":" in t or "." in t for t in ticks)


def test_the_partial_period_is_marked(page, calls):
    browser_login(page, "admin", "admin-secret")
    page.goto(f"/?switch={calls}")
    wait_for_buckets(page, "dashboard-hourly-graph", 24)
    bars, line = graph_data(page, "dashboard-hourly-graph")
    assert bars["marker"]["pattern"]["shape"] == [""] * 23 + ["/"]  # the hour in progress, hatched
    assert line["marker"]["symbol"][-1] == "circle-open"
    assert "partial: so far" in page.locator("#dashboard-hourly-graph .annotation-text").all_text_contents()
    # the daily comparison leaves today's hours to come out instead of drawing them as zeros
    page.goto(f"/daily-comparison?switch={calls}")
    page.wait_for_selector("#daily-comparison-graph .scatterlayer .trace")
    today = graph_data(page, "daily-comparison-graph")[0]
    hour = datetime.now(UTC).hour
    assert [v is None for v in today["y"]] == [h > hour for h in range(24)]
    assert page.console_errors == []


def _click_point(page, selector: str) -> None:
    """A real mouse click on a point (plotly's drag layer above it takes it, as from a user)."""
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def wait_for_count(page, count: int) -> None:
    """The CDR search's exact count (shown once its report by day has run) is ``count``."""
    page.wait_for_function(
        "(n) => { const e = document.querySelector('#cdr-search-count'); return e && e.innerText === n + ' calls'; }",
        arg=count,
        timeout=20_000,
    )


def test_a_click_opens_the_cdr_search_of_exactly_those_calls(page, calls):
    trace = open_last_30_days(page, calls)
    index = trace["x"].index(f"{GAP_DAYS[0]} 00:00:00")
    _click_point(page, f"#overview-calls-graph .scatterlayer .points path >> nth={index}")
    page.wait_for_url("**/cdrs?**")
    assert f"start={GAP_DAYS[0]}" in page.url and f"switch={calls}" in page.url
    wait_for_count(page, PER_GAP_DAY[0])

    page.goto(f"/?switch={calls}")  # a bar of the dashboard: the switch's calls of the last 24 hours
    page.wait_for_selector("#dashboard-switches-graph .bars .point path")
    (bar,) = graph_data(page, "dashboard-switches-graph")
    _click_point(page, "#dashboard-switches-graph .bars .point path >> nth=0")
    page.wait_for_url("**/cdrs?**")
    wait_for_count(page, bar["x"][0])
    assert bar["x"][0] == 5
    assert page.console_errors == []


def test_a_drag_across_a_chart_zooms_the_page_and_the_address(page, calls):
    open_last_30_days(page, calls)
    start = TODAY - timedelta(days=29)
    wait_for_buckets(page, "overview-minutes-graph", 30)
    box = page.locator("#overview-calls-graph .nsewdrag").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.30, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.45, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.60, y, steps=5)
    page.mouse.up()
    page.wait_for_function(f"!window.location.search.includes('start={start}')", timeout=20_000)
    query = dict(part.split("=") for part in page.evaluate("window.location.search").lstrip("?").split("&"))
    first, last = date.fromisoformat(query["start"]), date.fromisoformat(query["end"])
    assert start < first < last < TODAY and "from" not in query  # whole days (a span of days)
    days = (last - first).days + 1
    for graph in ("overview-calls-graph", "overview-minutes-graph", "overview-short-graph"):  # every chart follows
        wait_for_buckets(page, graph, days)
    page.reload()  # the address keeps the zoomed range
    wait_for_buckets(page, "overview-calls-graph", days)
    assert page.console_errors == []


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _rgb(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text[text.index("(") + 1 : text.index(")")].split(","))


def contrast(foreground: str, background: str) -> float:
    light, dark = sorted((_luminance(_rgb(foreground)), _luminance(_rgb(background))), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_dark_mode_chart_text_has_a_contrast_of_at_least_4_5(page, calls):
    page.context.add_init_script("localStorage.setItem('theme-store', 'true')")
    browser_login(page, "admin", "admin-secret")
    page.goto("/overview?preset=7d&split=switch")
    wait_for_buckets(page, "overview-calls-graph", 7)
    page.wait_for_selector("#overview-calls-graph .xtick text")
    colours = page.evaluate(
        """() => {
            const graph = document.getElementById('overview-calls-graph');
            let node = graph, background = 'rgba(0, 0, 0, 0)';
            while (node && (background === 'rgba(0, 0, 0, 0)' || background === 'transparent')) {
                background = getComputedStyle(node).backgroundColor; node = node.parentElement;
            }
            const fills = (sel) => Array.from(graph.querySelectorAll(sel)).map(e => getComputedStyle(e).fill);
            return {background, ticks: fills('.xtick text').concat(fills('.ytick text')),
                    titles: fills('.g-ytitle text'), notes: fills('.annotation-text'),
                    grid: Array.from(graph.querySelectorAll('.gridlayer path')).map(e => getComputedStyle(e).stroke)};
        }"""
    )
    assert _luminance(_rgb(colours["background"])) < 0.1  # the page is dark
    texts = colours["ticks"] + colours["titles"] + colours["notes"]
    assert len(texts) > 5
    assert min(contrast(fill, colours["background"]) for fill in texts) >= 4.5
    assert colours["grid"] and all(_rgb(stroke) != (255, 255, 255) for stroke in colours["grid"])
    # the dropdowns are dark too
    field = page.evaluate("getComputedStyle(document.querySelector('#filter-switch')).backgroundColor")
    assert _luminance(_rgb(field)) < 0.1 if field != "rgba(0, 0, 0, 0)" else True
    page.goto("/login")  # the login page follows the theme
    assert page.evaluate("document.documentElement.getAttribute('data-bs-theme')") == "dark"


def test_every_view_survives_a_copied_address(page, calls):
    browser_login(page, "admin", "admin-secret")
    open_page(page, "/overview?preset=30d&split=customer&compare=1", "#overview-calls-graph .main-svg")
    search = page.evaluate("window.location.search")
    assert "split=customer" in search and "compare=1" in search and "preset=30d" in search
    assert page.locator("#overview-split input[value=customer]").is_checked()
    assert page.locator("#overview-compare").is_checked()
    page.locator("label:has-text('Per switch')").click()
    page.wait_for_function("window.location.search.includes('split=switch')")

    day, chosen = TODAY - timedelta(days=1), [TODAY - timedelta(days=3), TODAY - timedelta(days=9)]
    address = f"/daily-comparison?day={day}&mode=chosen&dates={chosen[0]},{chosen[1]}&metric=minutes"
    open_page(page, address, "#daily-comparison-graph .scatterlayer .trace")
    search = page.evaluate("window.location.search")
    for part in (f"day={day}", "mode=chosen", f"dates={chosen[0]}%2C{chosen[1]}", "metric=minutes"):
        assert part in search
    assert len(graph_data(page, "daily-comparison-graph")) == 3  # the day and the two chosen dates

    for path, key in (("/countries", "countries-metric"), ("/world-map", "world-map-metric")):
        page.goto(f"{path}?preset=30d&metric=minutes")
        page.wait_for_load_state("networkidle")
        assert "metric=minutes" in page.evaluate("window.location.search")
        assert page.locator(f"#{key} input[value=minutes]").is_checked()
    assert page.console_errors == []


def test_a_customer_is_not_offered_a_split_per_customer(page, calls):
    browser_login(page, "chart-cust", "chart-cust-pw-1")
    page.goto("/overview?split=customer")
    page.wait_for_selector("#overview-calls-graph .main-svg")
    assert page.locator("#overview-split label:has-text('Per customer')").count() == 0
    assert page.locator("#overview-split input[value=switch]").is_checked()


# Every dropdown's and select's shown text (the chosen value, a chip, the placeholder) with its colour and the
# background it is drawn on: translucent layers laid over what is below them, as the eye sees it.
SHOWN_TEXT = """() => {
    const parse = (s) => (s.match(/[\\d.]+/g) || [0, 0, 0, 0]).map(Number);
    const over = (top, below) => {
        const a = top.length > 3 ? top[3] : 1;
        return [0, 1, 2].map((i) => top[i] * a + below[i] * (1 - a));
    };
    const backgroundOf = (node) => {
        const layers = [];
        for (; node; node = node.parentElement) {
            const colour = parse(getComputedStyle(node).backgroundColor);
            if (colour.length < 4 || colour[3] > 0) layers.push(colour);
            if (colour.length < 4 || colour[3] === 1) break;
        }
        return layers.reduceRight((below, top) => over(top, below), [255, 255, 255]);
    };
    const shown = (node, text) => {
        const background = backgroundOf(node);
        return {text, colour: over(parse(getComputedStyle(node).color), background), background};
    };
    const found = [];
    for (const select of document.querySelectorAll('select')) {
        found.push({id: select.id, ...shown(select, select.selectedOptions[0]?.text || '')});
    }
    for (const dropdown of document.querySelectorAll('.dash-dropdown')) {
        const walk = (node) => {
            if (Array.from(node.childNodes).some((c) => c.nodeType === 3 && c.textContent.trim())) {
                found.push({id: dropdown.id, ...shown(node, node.textContent.trim())});
            }
            Array.from(node.children).forEach(walk);
        };
        walk(dropdown);
    }
    return found;
}"""
# The dashboard, every page of the Reports menu (new ones included), and the reports among billing and alarms.
REPORT_PAGES = ["/", *dict(NAV_SECTIONS)["Reports"], "/billing", "/alarm-report", "/threats"]


def _rgb_contrast(foreground: list[float], background: list[float]) -> float:
    return contrast(f"rgb({','.join(map(str, foreground))})", f"rgb({','.join(map(str, background))})")


def test_dark_mode_dropdowns_and_selects_show_their_value_readably(page, calls):
    page.context.add_init_script("localStorage.setItem('theme-store', 'true')")
    browser_login(page, "admin", "admin-secret")
    seen = set()
    search = f"/cdrs?direction=inbound&flag=any&switch={calls}"
    for path in REPORT_PAGES:
        page.goto(search if path == "/cdrs" else path)
        page.wait_for_load_state("networkidle")
        if path == "/cdrs":  # the switch's name comes with the filter bar's options, a callback later
            page.wait_for_selector("#filter-switch:has-text('chart-sw')")
        for shown in page.evaluate(SHOWN_TEXT):
            seen.add((shown["id"], shown["text"]))
            assert _luminance(shown["background"]) < 0.1, (path, shown)  # no white field on the dark page
            assert _rgb_contrast(shown["colour"], shown["background"]) >= 4.5, (path, shown)
    for chosen in (
        ("cdr-search-direction", "Inbound"),
        ("cdr-search-flag", "Flagged: any flag"),
        ("filter-switch", "chart-sw"),
    ):
        assert chosen in seen
    assert any(ident == "cdr-search-dst-op" for ident, _text in seen)  # a dbc.Select was read too
    # the open list: the chosen option is marked in a colour that still reads on the menu
    page.goto(search)
    page.wait_for_load_state("networkidle")
    for dropdown in ("#cdr-search-direction", "#cdr-search-flag"):
        page.click(dropdown)
        option = page.locator(".dash-dropdown-option.selected")
        option.wait_for()
        colours = option.evaluate(
            "(node) => { let b = node; while (getComputedStyle(b).backgroundColor === 'rgba(0, 0, 0, 0)')"
            " b = b.parentElement; return [getComputedStyle(node).color, getComputedStyle(b).backgroundColor]; }"
        )
        assert contrast(*colours) >= 4.5, (dropdown, colours)
        page.keyboard.press("Escape")
    assert page.console_errors == []
