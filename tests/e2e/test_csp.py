"""The Content-Security-Policy in a real browser: the dashboard (login, live page, an edit)
and Swagger UI run with no violation (docs/security.md)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import Person

pytestmark = pytest.mark.e2e

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def watch(messages: list[str]):
    def before(page: Page) -> None:
        page.add_init_script(WATCH)
        page.on(
            "console",
            lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None,
        )

    return before


def violations(person: Person) -> list[str]:
    return person.page.evaluate("window.__cspViolations")


def test_the_dashboard_runs_under_its_csp_with_no_violation(person) -> None:
    console: list[str] = []
    mentor = person("mentor", before=watch(console))
    response = mentor.page.request.get(mentor.page.url)
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    # The live page did its work: a snapshot over REST and a live socket, then an edit.
    mentor.page.locator("button.cell").first.click()
    mentor.page.keyboard.press("Escape")
    mentor.page.wait_for_timeout(500)
    assert violations(mentor) == []
    assert console == []
    assert mentor.errors == []


def test_swagger_ui_runs_under_the_csp_with_no_violation(person, dashboard_server) -> None:
    console: list[str] = []
    mentor = person("mentor", before=watch(console))
    mentor.page.goto(f"{dashboard_server.url}/api/docs/")
    mentor.page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
    assert violations(mentor) == []
    assert console == []


def test_the_admin_runs_under_the_csp_with_no_violation(person, dashboard_server) -> None:
    console: list[str] = []
    staff = person("admin", before=watch(console))
    staff.page.goto(f"{dashboard_server.url}/admin/auth/user/")
    staff.page.wait_for_selector("#result_list")
    staff.page.goto(f"{dashboard_server.url}/admin/auth/user/1/change/")
    staff.page.wait_for_selector("#user_form")
    assert violations(staff) == []
    assert console == []
