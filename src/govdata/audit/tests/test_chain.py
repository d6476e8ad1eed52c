import pytest

from govdata.audit.chain import verify_chain
from govdata.audit.models import AppendOnlyError, AuditEvent
from govdata.audit.services import record
from govdata.common.actor import Actor


@pytest.mark.req("R-34.3")
def test_chain_appends_and_verifies(db):
    for i in range(5):
        record(Actor.platform(), "test.event", details={"i": i, "中文": "值"})
    result = verify_chain()
    assert result.ok and result.count == 5
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(seq=2).update(action="x")
