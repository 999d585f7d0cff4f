"""The enterprise page end to end: headless Chromium, uvicorn, SQLite and InfluxDB all real."""

import re

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.api.conftest import ENT_A, ENT_B, PASSWORD, SITE_A, SITE_B, open_alert
from tests.web.conftest import EPISODE_MINUTES

pytestmark = pytest.mark.integration


def sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base)  # "/" sends the browser to the page
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def card(page: Page, alert_id: int):
    return page.locator(f'li[data-alert-id="{alert_id}"]')


def token(base: str, username: str) -> dict[str, str]:
    answer = httpx.post(f"{base}/v1/auth/token", data={"username": username, "password": PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_an_enterprise_user_sees_only_its_own_open_alert_with_value_limit_and_chart(
    served, city_sql, page
):
    own = open_alert(city_sql, ENT_A, SITE_A)
    other = open_alert(city_sql, ENT_B, SITE_B)
    hostile = "<img src=x id=injected onerror=alert(1)>"
    marked = open_alert(city_sql, ENT_A, SITE_A, rule="pm10-spike", standard=hostile)

    sign_in(page, served, "zhang")

    expect(page.get_by_role("heading", name="未关闭的告警")).to_be_visible()
    alert = card(page, own)
    expect(alert).to_be_visible()
    expect(alert.locator(".rule")).to_have_text("pm25-spike")
    expect(alert.locator(".field-site")).to_have_text(SITE_A)
    expect(alert.locator(".field-value")).to_have_text("180")
    expect(alert.locator(".field-limit")).to_contain_text("150")
    expect(alert.locator(".field-limit")).to_contain_text("GB 3095-2012")
    expect(alert.locator(".field-state")).to_have_text("告警中")
    expect(alert.locator("svg.chart circle.point")).to_have_count(EPISODE_MINUTES)
    expect(alert.locator("svg.chart line.limit")).to_have_count(1)
    expect(card(page, marked).locator(".field-limit")).to_contain_text(hostile)
    expect(page.locator("#injected")).to_have_count(0)
    expect(card(page, other)).to_have_count(0)
    expect(page.locator("li.alert")).to_have_count(2)
    assert page.evaluate("sessionStorage.getItem('lantian.token')")


def test_acknowledging_with_a_comment_acknowledges_the_alert_as_the_user(served, city_sql, page):
    alert_id = open_alert(city_sql, ENT_A, SITE_A)
    sign_in(page, served, "zhang")
    alert = card(page, alert_id)
    expect(alert.locator(".field-state")).to_have_text("告警中")

    alert.get_by_role("button", name="确认").click()  # no comment: the browser refuses
    expect(alert.locator(".field-state")).to_have_text("告警中")
    alert.get_by_label("说明").fill("除尘器滤袋破损，已停机更换")
    alert.get_by_role("button", name="确认").click()

    expect(alert.locator(".field-state")).to_have_text("已确认")
    expect(alert.locator("form.ack")).to_have_count(0)
    answer = httpx.get(f"{served}/v1/alerts/{alert_id}", headers=token(served, "zhang"))
    detail = answer.json()
    assert detail["state"] == "acknowledged"
    acknowledged = [e for e in detail["events"] if e["action"] == "acknowledged"]
    assert [e["comment"] for e in acknowledged] == ["除尘器滤袋破损，已停机更换"]
    assert detail["acknowledged_by"] == acknowledged[0]["actor"]
    assert "zhang" in acknowledged[0]["actor"]


def test_a_comment_being_typed_survives_a_live_update_of_its_alert(served, city_sql, page):
    alert_id = open_alert(city_sql, ENT_A, SITE_A)
    sign_in(page, served, "zhang")
    alert = card(page, alert_id)
    expect(alert.locator("svg.chart")).to_be_visible()  # the card's readings have arrived
    expect(page.locator("#stream-state")).to_have_attribute("data-live", "true")
    alert.get_by_label("说明").fill("正在排查")
    alert.evaluate("element => { window.typedIn = element; }")

    answer = httpx.post(
        f"{served}/v1/alerts/{alert_id}/comment",
        json={"comment": "请说明原因"},
        headers=token(served, "admin"),
    )
    assert answer.status_code == 200, answer.text

    page.wait_for_function("() => !document.contains(window.typedIn)")  # the card was rebuilt
    expect(alert.get_by_label("说明")).to_have_value("正在排查")
    expect(alert.get_by_label("说明")).to_be_focused()


def test_a_new_alert_appears_without_a_reload(served, city_sql, page):
    first = open_alert(city_sql, ENT_A, SITE_A)
    sign_in(page, served, "zhang")
    expect(card(page, first)).to_be_visible()
    expect(page.locator("#stream-state")).to_have_attribute("data-live", "true")
    page.evaluate("window.notReloaded = true")

    theirs = open_alert(city_sql, ENT_B, SITE_B, rule="pm10-spike")
    ours = open_alert(city_sql, ENT_A, SITE_A, rule="pm10-spike", value=260.0)

    expect(card(page, ours).locator(".field-value")).to_have_text("260")
    expect(card(page, ours).locator(".rule")).to_have_text("pm10-spike")
    expect(card(page, theirs)).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True


def test_after_a_dropped_stream_the_page_resumes_with_last_event_id(api_server, city_sql, page):
    base = api_server.base
    sign_in(page, base, "zhang")
    expect(page.locator("#stream-state")).to_have_attribute("data-live", "true")
    streams: list[dict[str, str]] = []
    page.on(
        "request",
        lambda request: (
            streams.append(request.headers) if request.url.endswith("/v1/alerts/events") else None
        ),
    )
    live = open_alert(city_sql, ENT_A, SITE_A)
    expect(card(page, live)).to_be_visible()
    events = httpx.get(f"{base}/v1/alerts/{live}", headers=token(base, "zhang")).json()["events"]

    api_server.stop()
    expect(page.locator("#stream-state")).to_have_attribute("data-live", "false")
    missed = open_alert(city_sql, ENT_A, SITE_A, rule="pm10-spike")
    api_server.start()

    expect(card(page, missed)).to_be_visible()
    expect(page.locator("#stream-state")).to_have_attribute("data-live", "true")
    assert streams, "the page did not reconnect"
    assert streams[-1]["last-event-id"] == str(max(e["id"] for e in events))
    assert streams[-1]["authorization"].startswith("Bearer ")


def test_in_english_production_output_is_submitted_and_a_bad_quantity_shows_why(served, page):
    sign_in(page, served, "zhang")
    expect(page.get_by_role("heading", name="未关闭的告警")).to_be_visible()
    page.locator("#lang").select_option("en")
    expect(page.get_by_role("heading", name="Open alerts")).to_be_visible()
    expect(page.get_by_role("heading", name="Production output")).to_be_visible()

    form = page.locator("#production")
    form.get_by_label("Period").select_option("day")
    form.get_by_label("Date").fill("2026-11-20")
    form.get_by_label("Quantity").fill("-5")
    form.get_by_label("Unit").fill("t")
    form.get_by_role("button", name="Submit").click()
    expect(page.locator("#production-error")).to_have_text(
        re.compile(r"quantity: .*greater than or equal to 0")
    )

    form.get_by_label("Quantity").fill("812.5")
    form.get_by_role("button", name="Submit").click()
    expect(page.locator("#production-result")).to_contain_text("Submitted: 2026-11-20")
    expect(page.locator("#production-error")).to_have_text("")
    figures = httpx.get(
        f"{served}/v1/enterprises/{ENT_A}/production",
        params={"since": "2026-11-01", "until": "2026-12-01"},
        headers=token(served, "zhang"),
    ).json()["items"]
    assert [(f["period_start"], f["quantity"], f["unit"]) for f in figures] == [
        ("2026-11-20", 812.5, "t")
    ]

    form.get_by_label("Period").select_option("month")
    form.get_by_label("Date").fill("2026-11")
    form.get_by_label("Quantity").fill("20000")
    form.get_by_label("Unit").fill("kg")
    form.get_by_role("button", name="Submit").click()
    expect(page.locator("#production-error")).to_contain_text("unit")


def test_a_wrong_password_shows_an_error_and_signing_out_forgets_the_token(served, page):
    sign_in(page, served, "zhang", "not the password")
    expect(page.get_by_role("alert").filter(has_text="用户名或密码错误")).to_be_visible()
    expect(page.locator("#main-view")).to_be_hidden()

    sign_in(page, served, "zhang")
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_label("用户名")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('lantian.token')") is None


def test_the_page_is_served_with_a_strict_content_security_policy(served):
    root = httpx.get(served)
    assert root.status_code == 307
    assert root.headers["location"] == "/app/"
    for name in ("", "app.js", "app.css", "i18n.js"):
        answer = httpx.get(f"{served}/app/{name}")
        assert answer.status_code == 200, name
        assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    html = httpx.get(f"{served}/app/").text
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert httpx.get(f"{served}/app/__init__.py").status_code == 404
