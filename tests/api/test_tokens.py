"""Tokens with scope and expiry: a read token only reads (403 problem on writes), an expired one signs nobody
in (401); the account page lists the user's tokens, creates one (its secret shown once) and revokes one (CSRF,
audited); the CLI takes --scope and --expires-in-days."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from obcms.api.models import ApiToken
from obcms.api.tokens import create_token, hash_token
from obcms.audit.models import AuditEntry
from obcms.db_types import utcnow
from obcms.errors import ValidationFailed
from obcms.extensions import db

NEW_PPA = {"title": "Token-made PPA", "category": "oobc_ppa", "fiscal_year": 2026}


def test_a_read_token_reads_but_may_not_write(api, bearer):
    headers = bearer("oobc_staff", "read")
    assert api.get("/api/v1/ppas", headers=headers).status_code == 200
    response = api.post("/api/v1/ppas", json=NEW_PPA, headers=headers)
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert "This token may only read" in response.get_json()["detail"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1


def test_a_write_token_writes_and_the_audit_names_the_token(api, bearer):
    response = api.post("/api/v1/ppas", json=NEW_PPA, headers=bearer("oobc_staff", "write"))
    assert response.status_code == 201, response.get_data(as_text=True)
    created = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.object_type == "ppa",
                                                             AuditEntry.object_id == response.get_json()["id"])).first()
    assert created.actor_label == "oobc_staff (token:tests write)"


def test_an_expired_token_signs_nobody_in(api, users):
    token, secret = create_token(users["moa_staff"], "short-lived", expires_in_days=1)
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/ppas", headers=headers).status_code == 200
    db.session.execute(sa.update(ApiToken).where(ApiToken.id == token.id)
                       .values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    response = api.get("/api/v1/ppas", headers=headers)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


@pytest.mark.parametrize("kwargs, field", [({"scope": "admin"}, "scope"), ({"expires_in_days": 0}, "expires_in_days"),
                                           ({"expires_in_days": 99999}, "expires_in_days"),
                                           ({"expires_in_days": "soon"}, "expires_in_days")])
def test_create_token_refuses_bad_scope_or_expiry(users, kwargs, field):
    with pytest.raises(ValidationFailed) as refused:
        create_token(users["moa_staff"], "x", **kwargs)
    assert field in refused.value.errors


def test_the_database_refuses_an_unknown_scope(users):
    token, _ = create_token(users["moa_staff"], "x")
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == token.id).values(scope="root"))
    db.session.rollback()


def test_cli_scope_and_expiry(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["obcms", "api", "create-token", "oobc_staff", "--name", "sync", "--scope", "write",
                                 "--expires-in-days", "30"])
    assert result.exit_code == 0, result.output
    assert "write" in result.output and "expires" in result.output
    db.session.expire_all()
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "sync"))
    assert token.scope == "write" and timedelta(days=29) < token.expires_at - utcnow() <= timedelta(days=30)
    listed = runner.invoke(args=["obcms", "api", "list-tokens"]).output
    assert "sync\twrite" in listed
    assert runner.invoke(args=["obcms", "api", "create-token", "oobc_staff", "--scope", "root"]).exit_code != 0
    assert runner.invoke(args=["obcms", "api", "create-token", "oobc_staff", "--expires-in-days", "0"]).exit_code != 0
    default = runner.invoke(args=["obcms", "api", "create-token", "oobc_staff", "--name", "plain"])
    assert default.exit_code == 0 and "read, no expiry" in default.output


def test_the_account_page_creates_lists_and_revokes_tokens(client_as, csrf_token, users, api):
    client = client_as("moa_staff")
    token = csrf_token(client)
    response = client.post("/account/api-tokens", data={"csrf_token": token, "name": "budget sync",
                                                         "scope": "write", "expires_in_days": "90"})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    secret = re.search(r'id="new-api-token" value="(obcms_[^"]+)"', html).group(1)
    db.session.expire_all()
    stored = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "budget sync"))
    assert stored.user_id == users["moa_staff"].id and stored.scope == "write"
    assert stored.token_hash == hash_token(secret) and stored.expires_at is not None
    assert api.get("/api/v1/ppas", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    page = client.get("/account").get_data(as_text=True)
    assert "budget sync" in page and "Read and write" in page and secret not in page  # shown once only
    response = client.post(f"/account/api-tokens/{stored.id}/revoke", data={"csrf_token": token})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(ApiToken, stored.id).is_revoked
    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.object_type == "api_token",
                                                           AuditEntry.object_id == stored.id,
                                                           AuditEntry.field == "revoked_at")).all()
    assert audit and audit[0].actor_user_id == users["moa_staff"].id
    assert api.get("/api/v1/ppas", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_the_account_page_refuses_bad_input_without_writing(client_as, csrf_token):
    client = client_as("viewer")
    response = client.post("/account/api-tokens", data={"csrf_token": csrf_token(client), "name": "",
                                                        "scope": "root", "expires_in_days": "x"})
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_revoking_needs_csrf_and_ones_own_token(client_as, csrf_token, users):
    theirs, _ = create_token(users["other_moa_staff"], "theirs")
    mine, _ = create_token(users["moa_staff"], "mine")
    db.session.commit()
    client = client_as("moa_staff")
    assert client.post(f"/account/api-tokens/{mine.id}/revoke").status_code == 400  # no CSRF token
    assert client.post(f"/account/api-tokens/{theirs.id}/revoke",
                       data={"csrf_token": csrf_token(client)}).status_code == 404
    db.session.expire_all()
    assert not db.session.get(ApiToken, mine.id).is_revoked and not db.session.get(ApiToken, theirs.id).is_revoked


def test_the_admin_console_lists_and_revokes_tokens(client_as, csrf_token, users):
    token, secret = create_token(users["moa_staff"], "console-visible", scope="write")
    db.session.commit()
    admin = client_as("admin")
    page = admin.get("/admin/api-tokens/").get_data(as_text=True)
    assert "console-visible" in page and token.token_hash not in page and secret not in page
    details = admin.get(f"/admin/api-tokens/details/?id={token.id}").get_data(as_text=True)
    assert "console-visible" in details and token.token_hash not in details
    assert client_as("oobc_staff").get("/admin/api-tokens/").status_code == 403
    response = admin.post("/admin/api-tokens/action/", data={"csrf_token": csrf_token(admin), "action": "revoke",
                                                               "rowid": [str(token.id)]})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).is_revoked
