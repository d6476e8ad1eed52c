"""Open on application in a real browser (R-29.2): a citizen finds an on-application dataset,
registers on the way to applying, applies with purpose, scenario, period and undertakings and
rates the dataset; the providing department's administrator approves the application from
the department's list; the citizen signs in again and downloads the data, masked as for
everyone. Nothing is loaded from outside (R-8.2)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from playwright.sync_api import expect

from conftest import login
from govdata.opendata.tests.conftest import opendata, person  # noqa: F401 - the fixture

PASSWORD = "Liaohe-river-2026"


@pytest.mark.browser
@pytest.mark.req("R-29.2")
@pytest.mark.django_db(transaction=True)
def test_a_citizen_registers_applies_is_approved_and_downloads(page, opendata):  # noqa: F811
    from govdata.common import clock
    from govdata.datastore import masking
    from govdata.datastore.tests.corpus import id_number
    from govdata.opendata.models import Feedback, OpenApplication

    dataset = opendata.payments
    page.goto(f"/open/datasets/{dataset.name}/")
    expect(page.locator("#how-to-apply")).to_be_visible()
    page.locator("#apply-link").click()
    page.wait_for_url(re.compile(r".*/open/account/login/\?next=.*apply.*"))

    # Registering on the way leads on to the application form.
    page.locator("#register-link").click()
    page.wait_for_url(re.compile(r".*/open/account/register/\?next=.*"))
    page.locator("input[name=kind][value=natural]").check()
    expect(page.locator("input[name=organisation]")).to_be_hidden()
    page.fill("input[name=id_number]", id_number(5, "19920315")[:17] + "0")  # a wrong check character first
    page.fill("input[name=full_name]", "王小明")
    page.fill("input[name=mobile]", "13904170001")
    page.fill("input[name=username]", "wangxm")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_again]", PASSWORD)
    page.locator("#register-submit").click()
    expect(page.locator("input[name=id_number] ~ .invalid-feedback")).to_contain_text("校验位")
    page.fill("input[name=id_number]", id_number(5, "19920315"))
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_again]", PASSWORD)
    page.locator("#register-submit").click()
    page.wait_for_url(f"**/open/datasets/{dataset.name.lower()}/apply/")

    page.fill("textarea[name=purpose]", "研究营口市企业社保缴费结构")
    page.fill("textarea[name=scenario]", "东北大学社会保障课题组学术论文")
    page.fill("input[name=period_end]", (clock.today() + dt.timedelta(days=180)).isoformat())
    for box in page.locator("input[name=undertakings]").all():
        box.check()
    page.locator("#apply-submit").click()
    page.wait_for_url(re.compile(r".*/open/applications/\d+/$"))
    application = OpenApplication.objects.get()
    expect(page.locator("#application-status .status-submitted")).to_be_visible()
    expect(page.locator("#deadline")).to_contain_text(f"{application.due_at.astimezone(clock.SHANGHAI):%Y-%m-%d}")

    # The dataset page loads the feedback fragment; a rating goes to the department.
    page.goto(f"/open/datasets/{dataset.name}/")
    form = page.locator("#feedback-form")
    form.locator("input[name=kind][value=error_report]").check()
    expect(form.locator("input[name=rating]").first).to_be_hidden()
    form.locator("input[name=kind][value=comment]").check()
    expect(form.locator("input[name=title]")).to_be_hidden()
    form.locator("input[name=rating][value='5']").check()
    form.locator("textarea[name=body]").fill("字段说明清楚")
    form.locator("#feedback-submit").click()
    expect(page.locator("#feedback-sent")).to_be_visible()
    assert Feedback.objects.get().rating == 5

    page.goto("/open/account/")
    page.locator("#logout-button").click()
    page.wait_for_url("**/open/")

    # The department approves it from its list.
    login(page, "civil-admin")
    page.goto("/open/manage/applications/")
    page.locator(f"#waiting-table #application-{application.pk} a").click()
    page.wait_for_url(f"**/open/applications/{application.pk}/")
    expect(page.locator("#application-info")).to_contain_text("东北大学社会保障课题组学术论文")
    page.locator("#approve-button").click()
    expect(page.locator("#approval")).to_be_visible()
    page.locator("nav form button").click()
    page.wait_for_url(re.compile(r".*/login/$"))

    # The citizen signs in on the portal and downloads the data.
    page.goto("/open/account/login/")
    page.fill("input[name=username]", "wangxm")
    page.fill("input[name=password]", PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    page.wait_for_url("**/open/")
    page.goto("/open/account/")
    page.locator(f"#my-applications-table #application-{application.pk} a").click()
    expect(page.locator("#application-status .status-approved")).to_be_visible()
    with page.expect_download() as download_info:
        page.locator("#downloads a.download-csv").first.click()
    with open(download_info.value.path(), encoding="utf-8-sig") as file:
        rows = list(csv.reader(io.StringIO(file.read())))
    assert len(rows) == 21 and "家庭住址" not in rows[0]
    assert rows[1][0] == masking.keep_ends(person(0)["公民身份号码"], 6, 4)

    assert page.requests.foreign() == []
