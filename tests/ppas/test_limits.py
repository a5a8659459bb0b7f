"""PPA and workflow forms with numbers beyond their columns: a 4xx, nothing written, never a 500."""
import pytest
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.extensions import db
from obcms.ppas.models import Ppa

from .test_views import form_data

TOO_BIG = ("2147483648", "9" * 30)


def audit_count():
    return db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))


@pytest.mark.parametrize("field,value", [("version", v) for v in TOO_BIG] +
                         [("implementing_moa_id", v) for v in TOO_BIG])
def test_ppa_edit_with_numbers_beyond_the_columns(client_as, csrf_token, organizations, make_ppa, field, value):
    ppa = make_ppa(title="Limits")
    db.session.commit()
    client = client_as("oobc_staff")
    data = form_data(csrf_token(client), organizations, version="1", title="Changed")
    data[field] = value
    before = audit_count()
    response = client.post(f"/ppas/{ppa.id}/edit", data=data)
    assert 400 <= response.status_code < 500, response.status_code
    db.session.expire_all()
    assert db.session.get(Ppa, ppa.id).title == "Limits" and audit_count() == before


@pytest.mark.parametrize("value", TOO_BIG)
def test_workflow_submit_with_a_version_beyond_the_column(client_as, csrf_token, make_ppa, value):
    ppa = make_ppa(title="Limits")
    db.session.commit()
    client = client_as("oobc_staff")
    response = client.post(f"/workflow/ppa/{ppa.id}/submit", data={"csrf_token": csrf_token(client), "version": value},
                           headers={"HX-Request": "true"})
    assert 400 <= response.status_code < 500, response.status_code


@pytest.mark.parametrize("field,value", [("start_date", "1899-12-31"), ("target_end_date", "2201-01-01"),
                                         ("start_date", "0001-01-01"), ("target_end_date", "9999-12-31")])
def test_ppa_dates_outside_1900_to_2200_are_refused(client_as, csrf_token, organizations, make_ppa, field, value):
    ppa = make_ppa(title="Dated")
    db.session.commit()
    client = client_as("oobc_staff")
    response = client.post(f"/ppas/{ppa.id}/edit", data=form_data(csrf_token(client), organizations, version="1",
                                                                   **{field: value}))
    assert response.status_code == 422 and "Enter a date from 1900 to 2200." in response.get_data(as_text=True)


def test_tranche_and_work_item_dates_outside_1900_to_2200_are_refused(make_ppa, users):
    from datetime import date

    from obcms.errors import ValidationFailed
    from obcms.ppas.services import add_tranche
    from obcms.workitems import services as workitem_services

    ppa = make_ppa(title="Dated")
    with pytest.raises(ValidationFailed) as refused:
        add_tranche(ppa, users["oobc_staff"], kind="obligation", amount="10", tranche_date="9999-12-31")
    assert refused.value.errors["tranche_date"] == ["Enter a date from 1900 to 2200."]
    with pytest.raises(ValidationFailed) as refused:
        workitem_services.create_work_item(None, users["oobc_staff"], title="Old", work_type="project",
                                           organization_id=ppa.implementing_moa_id, start_date=date(1, 1, 1))
    assert refused.value.errors["start_date"] == ["Enter a date from 1900 to 2200."]
