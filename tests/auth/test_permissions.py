import sqlalchemy as sa
from flask_login import AnonymousUserMixin

from obcms.auth.models import User
from obcms.auth.permissions import can, require, scope
from obcms.errors import NotAllowed
from obcms.extensions import db


class Scoped:
    __scope_column__ = "organization_id"

    def __init__(self, organization_id):
        self.organization_id = organization_id


def test_unknown_permission_is_refused_to_everyone(users):
    assert not can(users["admin"], "no.such.permission")


def test_anonymous_may_do_nothing():
    assert not can(AnonymousUserMixin(), "dashboard.view")


def test_moa_staff_reach_only_their_organization(users, organizations):
    moa = users["moa_staff"]
    assert can(moa, "ppa.edit", Scoped(organizations["MSSD"].id))
    assert not can(moa, "ppa.edit", Scoped(organizations["MOH"].id))
    assert can(users["oobc_staff"], "ppa.edit", Scoped(organizations["MOH"].id))


def test_require_raises_not_allowed_naming_who_may(users):
    try:
        require(users["viewer"], "ppa.edit")
    except NotAllowed as error:
        assert "OOBC staff" in error.detail and "You tried to edit this PPA" in error.detail
    else:
        raise AssertionError("viewer may not edit")


def test_scope_filters_by_organization_and_denies_unknown_models(users, organizations):
    User.__scope_column__ = "organization_id"
    try:
        moa_rows = db.session.scalars(scope(sa.select(User), User, users["moa_staff"])).all()
        assert {u.organization_id for u in moa_rows} == {organizations["MSSD"].id}
        assert len(db.session.scalars(scope(sa.select(User), User, users["admin"])).all()) == 8
    finally:
        del User.__scope_column__
    assert db.session.scalars(scope(sa.select(User), User, users["moa_staff"])).all() == []
    assert db.session.scalars(scope(sa.select(User), User, AnonymousUserMixin())).all() == []
