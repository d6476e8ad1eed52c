import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.common.fsm import IllegalTransition
from govdata.datastore import services, tables
from govdata.datastore.models import Check, Mask, Resource


@pytest.mark.req("R-18.1")
def test_mount_creates_a_typed_table_from_the_data_items(yk, entry):
    resource = services.mount(t.actor(yk.police_staff), entry, kind="table", name="居民信息表")
    assert tables.exists(resource.table_name)
    columns = {c.code: c for c in resource.columns.all()}
    assert list(columns) == ["sfzh", "xm", "sjhm", "csrq", "ysr", "jtrs", "sfzc"]
    assert (columns["sfzh"].content_check, columns["sfzh"].mask) == (Check.ID_NUMBER, Mask.ID_NUMBER)
    assert (columns["sjhm"].content_check, columns["sjhm"].mask) == (Check.MOBILE, Mask.MOBILE)
    assert columns["xm"].mask == Mask.NAME
    assert AuditEvent.objects.filter(action="datastore.resource.mount", object_id=str(resource.pk)).count() == 1


@pytest.mark.req("R-18.1")
def test_only_the_provider_mounts_and_only_the_bureau_re_reviews(yk, entry):
    with pytest.raises(PermissionDenied):
        services.mount(t.actor(yk.civil_admin), entry, kind="table", name="x")
    resource = services.mount(t.actor(yk.police_admin), entry, kind="file", name="附件")
    with pytest.raises(PermissionDenied):
        services.submit(t.actor(yk.police_staff), resource)
    services.submit(t.actor(yk.police_admin), resource)
    for reviewer in (yk.police_admin, yk.gz_admin, yk.evaluator):
        with pytest.raises(PermissionDenied):
            services.publish(t.actor(reviewer), resource)
    with pytest.raises(ValidationError):
        services.return_resource(t.actor(yk.bureau), resource, " ")
    services.return_resource(t.actor(yk.bureau), resource, "缺少数据说明")
    services.submit(t.actor(yk.police_admin), resource)
    services.publish(t.actor(yk.bureau), resource)
    assert Resource.objects.get(pk=resource.pk).status == Resource.Status.PUBLISHED
    with pytest.raises(IllegalTransition):
        services.submit(t.actor(yk.police_admin), resource)
    services.suspend(t.actor(yk.bureau), resource, "数据泄露风险排查")
    with pytest.raises(IllegalTransition):
        services.publish(t.actor(yk.bureau), resource)
    services.resume(t.actor(yk.bureau), resource)
    assert Resource.objects.get(pk=resource.pk).status == Resource.Status.PUBLISHED


@pytest.mark.req("R-18.1")
def test_mount_needs_a_published_entry_and_a_kind(yk, entry):
    with pytest.raises(ValidationError) as err:
        services.mount(t.actor(yk.police_admin), entry, kind="database", name="")
    assert set(err.value.message_dict) == {"kind", "name"}
