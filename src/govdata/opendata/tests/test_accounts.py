"""Public accounts (issue #6, item 5): natural persons with a real name, a GB 11643 ID number
and a mobile, legal persons with a GB 32100 unified social credit code; every problem named
by its field, nothing half-saved; sign-in and sign-out through the platform's own (lockout,
audit) landing on the portal."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from govdata.audit.models import AuditEvent
from govdata.common.actor import Actor
from govdata.common.validators import uscc_check_char
from govdata.datastore.tests.corpus import bad_check, id_number
from govdata.opendata.models import PublicProfile
from govdata.opendata.services import accounts
from govdata.orgs.models import Role, User

PASSWORD = "Liaohe-river-2026"
CITIZEN_ID = id_number(7, "19880512")


def enterprise_code(serial: int = 1) -> str:
    first17 = f"91210800MA0{serial:06d}"
    return first17 + uscc_check_char(first17)


def natural(**overrides) -> dict[str, str]:
    return {
        "kind": "natural",
        "username": "zhangsan",
        "password": PASSWORD,
        "full_name": "张三",
        "mobile": "13904171234",
        "id_number": CITIZEN_ID,
        **overrides,
    }


def legal(**overrides) -> dict[str, str]:
    return {
        "kind": "legal",
        "username": "yk-data-co",
        "password": PASSWORD,
        "full_name": "李四",
        "mobile": "13704175678",
        "organisation": "营口数智科技有限公司",
        "credit_code": enterprise_code(),
        **overrides,
    }


def register(**values) -> User:
    return accounts.register(Actor(ip="10.0.0.8"), **values)


def problems(values: dict[str, str]) -> dict[str, list[str]]:
    """What registration refuses, in the English of the source (the pages show Chinese)."""
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        register(**values)
    return caught.value.message_dict


@pytest.mark.req("R-29.2")
def test_a_natural_person_registers_as_a_public_user(db):
    user = register(**natural(id_number=CITIZEN_ID.lower()))
    assert user.full_name == "张三" and user.mobile == "13904171234" and user.department is None
    assert user.check_password(PASSWORD)
    assert list(user.roles.values_list("role", flat=True)) == [Role.PUBLIC_USER]
    profile = user.public_profile
    assert (profile.kind, profile.id_number, profile.organisation, profile.credit_code) == ("natural", CITIZEN_ID, "", "")
    assert profile.public_name == "张*"
    event = AuditEvent.objects.get(action="opendata.account.register")
    assert (event.actor_id, event.details, event.client_ip) == (str(user.pk), {"kind": "natural"}, "10.0.0.8")
    assert CITIZEN_ID not in str(AuditEvent.objects.values_list("details", flat=True))  # no ID number in the log


@pytest.mark.req("R-29.2")
def test_a_legal_person_registers_with_its_credit_code(db):
    user = register(**legal(credit_code=enterprise_code().lower()))
    profile = user.public_profile
    assert profile.kind == "legal" and profile.id_number == ""
    assert (profile.organisation, profile.credit_code) == ("营口数智科技有限公司", enterprise_code())
    assert profile.public_name == "营口数智科技有限公司"
    # An organisation may register several contacts.
    register(**legal(username="yk-data-co-2", full_name="王五"))
    assert PublicProfile.objects.filter(credit_code=enterprise_code()).count() == 2


@pytest.mark.req("R-29.2")
def test_a_wrong_id_number_is_named_and_nothing_is_saved(db):
    assert problems(natural(id_number=bad_check(CITIZEN_ID))) == {"id_number": ["The check character of the ID number is wrong."]}
    assert problems(natural(id_number="21080219880230123X"))["id_number"] == [
        "The birth date inside the ID number does not exist."
    ]
    assert problems(natural(id_number="2108021988"))["id_number"] == ["An ID number has 17 digits followed by a digit or X."]
    assert problems(natural(id_number=""))["id_number"] == ["This field is required."]
    assert not User.objects.exists() and not PublicProfile.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.req("R-29.2")
def test_a_wrong_credit_code_and_missing_organisation_are_named(db):
    assert problems(legal(credit_code=bad_check(enterprise_code()))) == {
        "credit_code": ["The check character of the unified social credit code is wrong."]
    }
    assert problems(legal(credit_code="91210800")) == {
        "credit_code": ["A unified social credit code has 18 characters, this one has 8."]
    }
    assert problems(legal(organisation="  ")) == {"organisation": ["This field is required."]}
    assert not User.objects.exists()


@pytest.mark.req("R-29.2")
def test_every_problem_is_reported_at_once_by_field(db):
    register(**natural())
    found = problems(natural(id_number=CITIZEN_ID, mobile="1234", full_name="", password="12345678"))
    assert set(found) == {"id_number", "mobile", "full_name", "password"}
    assert found["id_number"] == ["An account is already registered with this ID number."]
    assert problems(natural(username="zhangsan", id_number=id_number(8)))["username"]  # the name is taken
    assert problems(natural(kind="robot", username="robot")) == {"kind": ["Choose natural person or legal person."]}
    assert User.objects.count() == 1


# --- pages ---------------------------------------------------------------------------------


def form_data(values: dict[str, str]) -> dict[str, str]:
    return {**values, "password_again": values["password"]}


@pytest.mark.req("R-29.2")
def test_the_register_page_names_the_field_and_signs_in_on_success(client, db):
    page = client.get("/open/account/register/")
    assert page.status_code == 200 and "注册" in page.content.decode()

    refused = client.post("/open/account/register/", form_data(natural(id_number=bad_check(CITIZEN_ID))))
    assert refused.status_code == 200
    assert refused.context["form"].errors["id_number"] == ["公民身份号码校验位错误。"]
    assert not User.objects.exists()

    different = client.post("/open/account/register/", {**natural(), "password_again": "something-else-2026"})
    assert different.context["form"].errors["password_again"]

    done = client.post("/open/account/register/?next=/open/account/applications/", form_data(natural()))
    assert done.status_code == 302 and done["Location"] == "/open/account/applications/"
    profile = client.get("/open/account/")
    text = profile.content.decode()
    assert profile.status_code == 200 and "张三" in text
    assert CITIZEN_ID not in text and f"{CITIZEN_ID[:6]}********{CITIZEN_ID[-4:]}" in text
    assert "139****1234" in text


@pytest.mark.req("R-29.2")
def test_public_sign_in_lands_on_the_portal_and_sign_out_too(client, db):
    register(**legal())
    wrong = client.post("/open/account/login/", {"username": "yk-data-co", "password": "wrong-password"})
    assert wrong.status_code == 200 and "用户名或密码错误" in wrong.content.decode()
    assert AuditEvent.objects.filter(action="auth.login.failed").count() == 1

    signed_in = client.post("/open/account/login/", {"username": "yk-data-co", "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/open/"
    assert client.get("/open/account/").status_code == 200
    signed_out = client.post("/open/account/logout/")
    assert signed_out["Location"] == "/open/"
    assert client.get("/open/account/")["Location"].startswith("/open/account/login/?next=")


@pytest.mark.req("R-29.2")
def test_a_government_user_has_no_public_profile_page(client, yk):
    client.force_login(yk.civil_admin)
    assert client.get("/open/account/")["Location"] == "/"


@pytest.mark.req("R-29.2")
def test_the_public_user_can_do_nothing_on_the_government_side(client, db):
    user = register(**natural())
    client.force_login(user)
    assert client.get("/open/manage/applications/").status_code == 403
    assert client.get("/open/manage/feedback/").status_code == 403
