"""Sign-in, the role-aware dashboard and navigation, the Django admin's gate, and the rule that
pages load nothing from outside the platform."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.urls import reverse

from govdata.orgs.models import User
from govdata.sharing.tests.conftest import ask, consumer_system, person_table
from govdata.testing import PASSWORD

LOGIN = "/login/"


def nav(html: str) -> str:
    return html.split('class="navbar-nav', 1)[1].split("</ul>", 1)[0] if 'class="navbar-nav' in html else ""


def test_url_names():
    assert reverse("web:login") == LOGIN and reverse("web:dashboard") == "/"


@pytest.mark.req("R-8.1")
def test_login_page_is_chinese(client, db):
    response = client.get(LOGIN)
    html = response.content.decode()
    assert response.status_code == 200
    assert "登录" in html and "用户名" in html and "密码" in html
    assert "营口市政务数据共享开放平台" in html
    assert "Sign in" not in html and "Password" not in html


def test_login_with_right_password_goes_to_dashboard(client, yk, clock):
    response = client.post(LOGIN, {"username": "police-staff", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "工作台" in client.get("/").content.decode()


def test_login_keeps_only_local_next(client, yk, clock):
    response = client.post(LOGIN, {"username": "police-staff", "password": PASSWORD, "next": "/workdays/"})
    assert response["Location"] == "/workdays/"
    client.logout()
    response = client.post(LOGIN, {"username": "police-staff", "password": PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_wrong_password_shows_the_chinese_error(client, yk, clock):
    response = client.post(LOGIN, {"username": "police-staff", "password": "wrong-password"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "用户名或密码错误" in html
    assert "_auth_user_id" not in client.session
    # An unknown user gets the very same message.
    html = client.post(LOGIN, {"username": "nobody", "password": "wrong-password"}).content.decode()
    assert "用户名或密码错误" in html


def test_empty_form_shows_required_fields_in_chinese(client, db):
    html = client.post(LOGIN, {"username": "", "password": ""}).content.decode()
    assert html.count("必填项") == 2 and "This field is required" not in html


def test_lockout_after_repeated_failures(client, yk, clock):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        client.post(LOGIN, {"username": "police-staff", "password": "wrong-password"})
    html = client.post(LOGIN, {"username": "police-staff", "password": PASSWORD}).content.decode()
    until = (clock.now() + dt.timedelta(minutes=settings.LOGIN_LOCK_MINUTES)).strftime("%H:%M")
    assert "账号已锁定" in html and until in html
    assert "_auth_user_id" not in client.session
    # After the lock has run out, the right password works again.
    clock.advance(minutes=settings.LOGIN_LOCK_MINUTES + 1)
    response = client.post(LOGIN, {"username": "police-staff", "password": PASSWORD})
    assert response.status_code == 302


def test_dashboard_needs_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


@pytest.mark.req("R-6.1")
def test_department_staff_sees_only_their_navigation(client, yk, clock):
    client.force_login(yk.police_staff)
    html = client.get("/").content.decode()
    menu = nav(html)
    assert "工作台" in menu and "工作日日历" in menu and "本部门" in menu
    assert "审计" not in menu and reverse("audit:events") not in html
    assert f'href="{reverse("orgs:departments")}"' not in menu
    assert f'href="{reverse("orgs:contact_report")}"' not in menu
    assert "未读消息" in html


@pytest.mark.req("R-6.1")
def test_bureau_sees_the_oversight_navigation(client, yk, clock):
    client.force_login(yk.bureau)
    html = client.get("/").content.decode()
    menu = nav(html)
    assert "审计" in menu and f'href="{reverse("audit:events")}"' in menu
    assert f'href="{reverse("orgs:departments")}"' in menu and f'href="{reverse("orgs:contact_report")}"' in menu
    assert f'href="{reverse("workdays:calendar")}"' in menu


@pytest.mark.req("R-5.1")
@pytest.mark.parametrize(
    "who, audit, departments",
    [
        ("gz_admin", True, True),
        ("evaluator", True, True),
        ("police_security", True, False),
        ("police_admin", False, False),
        ("civil_admin", False, False),
    ],
)
def test_navigation_per_role(client, yk, clock, who, audit, departments):
    client.force_login(getattr(yk, who))
    response = client.get("/")
    assert response.status_code == 200
    menu = nav(response.content.decode())
    assert (f'href="{reverse("audit:events")}"' in menu) is audit
    assert (f'href="{reverse("orgs:departments")}"' in menu) is departments
    # Every link a role sees opens for that role.
    for href in re.findall(r'href="([^"]+)"', menu):
        assert client.get(href).status_code == 200, href


@pytest.mark.req("R-8.1")
def test_pages_are_chinese(client, yk, clock):
    client.force_login(yk.bureau)
    for url in ["/", "/workdays/", "/audit/", "/inbox/"]:
        html = client.get(url).content.decode()
        assert '<html lang="zh-Hans">' in html
        assert "营口市政务数据共享开放平台" in html and "退出" in html and "消息" in html
    # A browser that asks for English gets English, and the page says which language it is in.
    english = client.get("/", headers={"Accept-Language": "en"}).content.decode()
    assert '<html lang="en">' in english and "Sign out" in english


@pytest.mark.req("R-8.2")
def test_pages_load_nothing_from_outside(client, yk, clock):
    client.force_login(yk.bureau)
    for url in [LOGIN, "/", "/workdays/", "/audit/", "/inbox/"]:
        html = client.get(url).content.decode()
        for ref in re.findall(r'(?:src|href)="([^"]*)"', html):
            assert not re.match(r"^(https?:)?//", ref), (url, ref)


def test_sign_out(client, yk, clock):
    client.force_login(yk.police_staff)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert client.get("/").status_code == 302


# --- the Django admin is a bureau superuser's tool only ------------------------------------


@pytest.mark.req("R-6.1")
def test_department_admin_with_staff_flag_is_refused_by_the_admin(client, yk, clock):
    User.objects.filter(pk=yk.police_admin.pk).update(is_staff=True)
    client.force_login(User.objects.get(pk=yk.police_admin.pk))
    for url in ["/django-admin/", "/django-admin/orgs/user/", "/django-admin/audit/auditevent/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/django-admin/login/" in response["Location"], url


@pytest.mark.req("R-6.1")
def test_superuser_outside_the_bureau_is_refused(client, yk, clock):
    User.objects.filter(pk=yk.police_admin.pk).update(is_staff=True, is_superuser=True)
    client.force_login(User.objects.get(pk=yk.police_admin.pk))
    assert client.get("/django-admin/").status_code == 302


@pytest.mark.req("R-6.1")
def test_bureau_superuser_gets_in_read_only(client, yk, clock):
    User.objects.filter(pk=yk.bureau.pk).update(is_staff=True, is_superuser=True)
    client.force_login(User.objects.get(pk=yk.bureau.pk))
    response = client.get("/django-admin/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in ["orgs/department", "orgs/user", "workdays/calendaroverride", "audit/auditevent", "notifications/notification"]:
        assert f"/django-admin/{name}/" in html
    assert client.get("/django-admin/orgs/department/").status_code == 200
    assert client.get("/django-admin/orgs/department/add/").status_code == 403
    assert client.get("/django-admin/workdays/calendaroverride/add/").status_code == 403


@pytest.mark.req("R-20.2")
def test_the_dashboard_shows_what_waits_on_the_department_and_the_bureau(client, yk):
    resource = person_table(yk, rows=0)
    ask(yk, resource, consumer_system(yk.civil))
    client.force_login(yk.police_admin)
    page = client.get("/").content.decode()
    assert "共享申请" in page and "/sharing/inbox/" in page
    client.force_login(yk.bureau)
    page = client.get("/").content.decode()
    assert "/datastore/review/" in page and "/sharing/overview/" in page
