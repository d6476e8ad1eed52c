"""A conditional table shared between two departments in a real browser (R-20.2, R-22.1): the
civil affairs bureau requests a police entry from its catalog page, the police approve two of
the three items from their inbox, civil affairs gives the usage undertaking and sees exactly
those two columns, masked — in the page and through the signed gateway, called by its consuming
system; once the police revoke the grant the same page and the same call are refused. Nothing
is loaded from outside (R-8.2)."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import login


def logout(page) -> None:
    page.locator("nav form button").click()
    page.wait_for_url(re.compile(r".*/login/$"))


def shoot(page, name: str) -> None:
    shots = os.environ.get("GOVDATA_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1440, "height": 1000})
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.req("R-20.2")
@pytest.mark.req("R-22.1")
@pytest.mark.django_db(transaction=True)
def test_a_conditional_table_is_requested_approved_in_part_used_masked_and_revoked(page, live_server, yk):
    from govdata import testing as t
    from govdata.common import clock
    from govdata.datastore.services import loads
    from govdata.datastore.tests import corpus as c
    from govdata.orgs.models import InformationSystem
    from govdata.sharing.client import GatewayClient
    from govdata.sharing.models import Grant, ShareRequest
    from govdata.sharing.services.applications import register_application
    from govdata.sharing.tests.conftest import person_table

    resource = person_table(yk, rows=0)  # a published conditional table of the police
    rows = [c.person(i, "张三" if i == 1 else "") for i in range(1, 4)]
    loads.load_table(
        t.actor(yk.police_staff), resource, io.BytesIO(c.csv_bytes(c.PERSON_HEADER, rows)), filename="p.csv", mode="replace"
    )
    system = InformationSystem.objects.create(department=yk.civil, name="社会救助系统", owner="救助科", status="existing")
    entry = resource.entry

    # Civil affairs asks for three items from the entry's page.
    login(page, "civil-admin")
    page.goto(f"/catalog/entries/{entry.pk}/")
    page.locator("#request-button").click()
    page.wait_for_url(f"**/sharing/entries/{entry.pk}/request/")
    for code in ("sfzh", "xm", "sjhm"):
        page.locator(f"input[name=items][value={code}]").check()
    page.locator("textarea[name=purpose]").fill("低保资格审核")
    page.locator("textarea[name=legal_duty]").fill("《社会救助暂行办法》第十一条")
    page.locator("textarea[name=scope]").fill("低保审核科室")
    page.locator("input[name=period_end]").fill((clock.today() + dt.timedelta(days=180)).isoformat())
    page.select_option("select[name=system]", str(system.pk))
    shoot(page, "sharing-request")
    page.locator("#request-submit").click()
    page.wait_for_url(re.compile(r".*/sharing/requests/\d+/$"))
    share_request = ShareRequest.objects.get()
    expect(page.locator("#request-status .status-submitted")).to_be_visible()
    expect(page.locator("#items-wanted .item-sjhm")).to_be_visible()
    logout(page)

    # The police approve two of them from their inbox.
    login(page, "police-admin")
    page.goto("/sharing/inbox/")
    page.locator(f"#waiting-table #request-{share_request.pk} a").click()
    page.wait_for_url(f"**/sharing/requests/{share_request.pk}/")
    expect(page.locator("input[name=approve-items][value=sjhm]")).to_be_checked()
    page.locator("input[name=approve-items][value=sjhm]").uncheck()
    shoot(page, "sharing-approve")
    page.locator("#approve-button").click()
    page.wait_for_url(f"**/sharing/requests/{share_request.pk}/")
    expect(page.locator("#request-status .status-approved")).to_be_visible()
    grant = Grant.objects.get()
    assert grant.items == ["sfzh", "xm"]
    logout(page)

    # Civil affairs gives the undertaking and uses the data: two columns, masked.
    login(page, "civil-admin")
    page.goto("/sharing/grants/")
    page.locator(f"#grant-{grant.pk} a").first.click()
    page.wait_for_url(f"**/sharing/grants/{grant.pk}/")
    expect(page.locator("#grant-status .grant-awaiting")).to_be_visible()
    expect(page.locator("#undertaking-text")).not_to_be_empty()
    page.locator("#accept-button").click()
    expect(page.locator("#grant-status .grant-active")).to_be_visible()
    page.locator(f"#use-data-{resource.pk}").click()
    page.wait_for_url(f"**/sharing/resources/{resource.pk}/data/")
    table = page.locator("#data-table")
    expect(table.locator("thead th")).to_have_count(2)
    expect(table.locator("th[data-code=sfzh]")).to_be_visible()
    expect(table.locator("th[data-code=xm]")).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table).to_contain_text("张*")
    expect(table).not_to_contain_text("张三")
    expect(table).to_contain_text(c.id_number(1)[:6] + "********")
    expect(table).not_to_contain_text(c.id_number(1))
    shoot(page, "sharing-use-data")
    logout(page)

    # The consuming system calls the gateway with a signed request: the same two items, masked.
    app, secret = register_application(t.actor(yk.civil_admin), system, name="低保审核系统")
    gateway = GatewayClient(f"{live_server.url}/gateway/v1", app.app_id, secret)
    called = gateway.get(f"/resources/{resource.pk}/records")
    assert called.status_code == 200, called.text
    body = called.json()
    assert [f["code"] for f in body["fields"]] == ["sfzh", "xm"] and all(f["masked"] for f in body["fields"])
    assert {"sfzh": c.id_number(1)[:6] + "********" + c.id_number(1)[-4:], "xm": "张*"} in body["records"]

    # The police revoke the grant; the same page is now refused, without any row.
    login(page, "police-admin")
    page.goto(f"/sharing/grants/{grant.pk}/")
    page.locator("textarea[name=reason]").fill("超出约定范围使用")
    page.locator("#revoke-button").click()
    expect(page.locator("#grant-status .grant-revoked")).to_be_visible()
    logout(page)

    login(page, "civil-admin")
    response = page.goto(f"/sharing/resources/{resource.pk}/data/")
    assert response.status == 403
    expect(page.locator("#refusal-reason")).not_to_be_empty()
    expect(page.locator("#data-table")).to_have_count(0)
    shoot(page, "sharing-refused")
    assert page.requests.foreign() == []
    refused = gateway.get(f"/resources/{resource.pk}/records")  # the same signed call, after revocation
    assert refused.status_code == 403 and not refused.json().get("records")
