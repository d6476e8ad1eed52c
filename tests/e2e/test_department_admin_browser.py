"""A department admin keeps their filed contacts up to date in a real browser (R-7.1), and the
pages load nothing from outside the local server (R-8.2)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import login

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.browser
@pytest.mark.req("R-7.1")
@pytest.mark.req("R-8.2")
@pytest.mark.django_db(transaction=True)
def test_department_admin_edits_a_contact_in_the_browser(page, yk):
    from govdata.orgs import services
    from govdata.orgs.models import ContactChange
    from govdata.testing import actor

    contact = services.file_contact(
        actor(yk.police_admin), yk.police, role="staff", name="王明", post="科长", mobile="13912345678"
    )

    login(page, "police-admin")
    # The dashboard, in Chinese.
    expect(page.locator("h1")).to_have_text(CHINESE)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")

    # "My department" in the navigation leads to the department page.
    department_url = f"/orgs/departments/{yk.police.pk}/"
    page.click(f"nav a[href='{department_url}']")
    page.wait_for_url(f"**{department_url}")
    expect(page.locator("h1")).to_have_text("营口市公安局")
    expect(page.locator("#contacts")).to_contain_text("专人联络员")
    row = page.locator(f"#contact-{contact.pk}")
    expect(row).to_contain_text("13912345678")
    expect(row).to_contain_text("有效")

    # Edit the contact's mobile number and save.
    row.get_by_role("link", name="修改").click()
    page.wait_for_url(f"**/orgs/contacts/{contact.pk}/edit/")
    expect(page.locator("h1")).to_have_text("修改联络人")
    expect(page.get_by_label("手机号码")).to_have_value("13912345678")
    page.get_by_label("手机号码").fill("13698765432")
    page.get_by_role("button", name="保存").click()

    page.wait_for_url(re.compile(re.escape(department_url) + r"(#contacts)?$"))
    expect(page.locator(".alert-success")).to_contain_text("已保存")
    expect(page.locator(f"#contact-{contact.pk}")).to_contain_text("13698765432")
    expect(page.locator(f"#contact-{contact.pk}")).not_to_contain_text("13912345678")

    shots = os.environ.get("GOVDATA_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1440, "height": 1000})
        page.screenshot(path=str(Path(shots) / "dept.png"), full_page=True)

    # The change is filed with the old value kept (Art. 7 history).
    change = ContactChange.objects.get(contact=contact, kind=ContactChange.Kind.UPDATED)
    assert change.old_values == {"mobile": "13912345678"}
    assert change.new_values == {"mobile": "13698765432"}
    assert change.changed_by == yk.police_admin

    # Nothing was fetched from any host but the local server (no CDN, fonts or scripts).
    assert page.requests.foreign() == []
