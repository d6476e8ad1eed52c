import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.notifications import services
from govdata.notifications.selectors import inbox_of


@pytest.mark.req("R-6.1")
def test_notify_reaches_user_and_department_inboxes_and_mails_after_commit(yk, django_capture_on_commit_callbacks):
    yk.police_admin.email = "police-admin@yingkou.gov.cn"
    yk.police_admin.save()
    yk.bureau.email = "bureau@yingkou.gov.cn"
    yk.bureau.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(subject="目录已退回", category="test", users=[yk.bureau], departments=[yk.police])
    assert [m.to for m in mail.outbox] == [["bureau@yingkou.gov.cn"], ["police-admin@yingkou.gov.cn"]]
    assert inbox_of(yk.bureau).count() == 1
    assert inbox_of(yk.police_staff).count() == 1  # the department's message
    assert inbox_of(yk.civil_admin).count() == 0


@pytest.mark.req("R-34.3")
def test_reading_is_audited_and_limited_to_recipients(yk):
    [message] = services.notify(subject="x", category="test", departments=[yk.police])
    with pytest.raises(PermissionDenied):
        services.mark_read(t.actor(yk.civil_admin), message)
    services.mark_read(t.actor(yk.police_staff), message)
    services.mark_read(t.actor(yk.police_admin), message)  # already read: nothing more
    events = AuditEvent.objects.filter(action="notifications.read")
    assert [(e.actor_label, e.department_id) for e in events] == [("police-staff", yk.police.pk)]
    services.notify(subject="y", category="test", users=[yk.bureau])
    services.notify(subject="z", category="test", users=[yk.bureau])
    assert services.mark_all_read(t.actor(yk.bureau)) == 2
    assert AuditEvent.objects.get(action="notifications.read_all").row_count == 2
