"""The Exports page in a real browser: an admin edits a template with a live preview; a customer is refused."""

from data.core import db
from tests.cdr_factory import ensure_switch, insert_calls
from tests.conftest import browser_login
from tests.test_export_db import SAMPLE_LINE, sample_cdr


def test_admin_sees_the_live_preview_and_a_customer_is_refused(page, make_user, app):
    from data.admin import users

    customer = users.create_user("browser-cgr", "pass-word-1", "customer", accountcodes=("1001",))
    db.execute("UPDATE app_user SET tenant = 'cgrates.org' WHERE id = :id", id=customer.id)
    insert_calls([sample_cdr(ensure_switch("browser-switch", "192.168.1.1"), customer.id)])

    browser_login(page, "admin", "admin-secret")
    page.goto("/exports")
    page.wait_for_selector("#exports-preview >> text=dbafe9c8614c785a65aabd116dd3959c3c56f7f6")
    assert page.locator("#exports-preview").inner_text().strip() == SAMPLE_LINE.strip()
    # Live: editing the profile changes the preview, and a bad rule is reported with its position.
    page.fill(
        "#exports-profile",
        '{"content_fields": [{"tag": "A", "value": "account"}, {"tag": "D", "value": "destination"}]}',
    )
    page.wait_for_selector("#exports-preview >> text=1001,1002")
    page.fill("#exports-profile", '{"content_fields": [{"tag": "A", "value": "~account:s/(/x/"}]}')
    page.wait_for_selector("#exports-preview >> text=offset")
    page.fill("#exports-template-name", "bad-one")
    page.click("#exports-save")
    page.wait_for_selector("#exports-template-feedback >> text=Not saved")
    # Run an export and get a download link.
    page.click("#exports-run")
    page.wait_for_selector("#exports-run-result a")
    assert page.locator("#exports-run-result").inner_text().startswith("Exported 1 CDRs")
    assert page.console_errors == []

    make_user("browser-customer")
    other = page.context.browser.new_context(base_url=page.url.split("/exports")[0])
    customer_page = other.new_page()
    browser_login(customer_page, "browser-customer", "pass-word-1")
    customer_page.goto("/exports")
    customer_page.wait_for_selector("text=You do not have access to this page.")
    assert customer_page.locator("#exports-preview").count() == 0
    other.close()
