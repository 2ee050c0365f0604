"""In a browser: an admin creates a group and a customer with two accountcodes; the customer logs in, sees
only their traffic and only the pages the group allows, and changes their password."""

from datetime import datetime, timedelta

import pytest

from data.admin import users
from tests.cdr_factory import UTC, call, ensure_switch, insert_calls
from tests.conftest import browser_login, change_password

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def traffic(app):
    other = users.create_user("someone-else", "someone-pw-1", "customer", accountcodes=("oth",))
    switch = ensure_switch("browser-sw", "10.60.0.1")
    calls = [
        call(
            switch,
            NOW - timedelta(hours=2, minutes=i),
            billsec=30,
            accountcode=("web1", "web2")[i % 2],
            callid=f"web-{i}",
        )
        for i in range(5)
    ]  # stored before the customer exists
    calls += [
        call(
            switch,
            NOW - timedelta(hours=3, minutes=i),
            billsec=30,
            accountcode="oth",
            user_id=other.id,
            callid=f"oth-{i}",
        )
        for i in range(7)
    ]
    insert_calls(calls)


def _wait_text(page, selector: str, text: str):
    page.wait_for_selector(f"{selector} >> text={text}", timeout=20_000)


def _log_in(browser, live_server, errors: list, username: str, password: str):
    """A browser of its own (context and page) logged in as ``username``; its page errors go to ``errors``."""
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_login(page, username, password)
    return context, page


def test_admin_creates_a_customer_who_sees_only_their_pages_and_calls(browser, live_server, traffic):
    errors = []
    admin_ctx, admin = _log_in(browser, live_server, errors, "admin", "admin-secret")
    admin.wait_for_selector("#navbar-user")

    admin.goto("/admin/groups")
    admin.wait_for_selector("#admin-group-name")
    admin.fill("#admin-group-name", "Dashboard only")
    admin.get_by_label("Dashboard (page:/)", exact=True).check()
    admin.click("#admin-group-save")
    _wait_text(admin, "#admin-group-saved", "Created group")

    admin.goto("/admin/users")
    admin.wait_for_selector("#admin-user-username")
    admin.fill("#admin-user-username", "webcust")
    admin.fill("#admin-user-password", "webcust-pw-1")
    admin.fill("#admin-user-accountcodes", "web1, web2")
    admin.press("#admin-user-accountcodes", "Tab")
    _wait_text(admin, "#admin-user-codes-info", "5 stored calls")
    admin.get_by_label("Dashboard only", exact=True).check()
    admin.click("#admin-user-save")
    _wait_text(admin, "#admin-user-saved", "Created customer 'webcust'. 5 stored calls re-assigned.")
    _wait_text(admin, "#admin-users-table", "webcust")
    admin_ctx.close()

    customer_ctx, customer = _log_in(browser, live_server, errors, "webcust", "webcust-pw-1")
    customer.wait_for_selector("text=Dashboard · last 24 hours")
    _wait_text(customer, "#kpi-calls", "5")  # their 5 calls, not the other customer's 7
    nav = customer.locator(".navbar-nav").inner_text()
    assert "Dashboard" in nav and "CDR search" not in nav and "Overview" not in nav and "Admin" not in nav
    customer.goto("/cdrs")
    customer.wait_for_selector("text=You do not have access to this page.")
    customer.goto("/admin/users")
    customer.wait_for_selector("text=You do not have access to this page.")

    customer.goto("/profile")
    customer.wait_for_selector("#profile-password-current")
    change_password(customer, "webcust-pw-1", "webcust-pw-2")
    _wait_text(customer, "#profile-password-changed", "Your password is changed.")
    customer_ctx.close()

    again_ctx = browser.new_context(base_url=live_server)
    again = again_ctx.new_page()
    browser_login(again, "webcust", "webcust-pw-1")
    again.wait_for_selector("text=Wrong username or password.")
    browser_login(again, "webcust", "webcust-pw-2")
    again.wait_for_selector("text=Dashboard · last 24 hours")
    again_ctx.close()
    assert errors == []
