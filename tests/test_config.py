"""Production configuration refuses unsafe settings at start, with one clear line saying what to fix."""
import secrets

import pytest

from config import Config, ProductionConfig, UnsafeConfiguration, config_for_environment
from obcms import create_app

GOOD = dict(SECRET_KEY=secrets.token_urlsafe(64), DEBUG=False, ALLOWED_HOSTS=["obcms.example.gov.ph"],
            SQLALCHEMY_DATABASE_URI="sqlite://")


def production_app(**changes):
    return create_app(ProductionConfig, **{**GOOD, **changes})


@pytest.mark.parametrize("key", ["", "dev-only-insecure-key", "change-me", "short-but-random-Zx81",
                                 "a" * 80, "ab" * 40])
def test_weak_or_default_secret_key_is_refused(key):
    with pytest.raises(UnsafeConfiguration) as refused:
        production_app(SECRET_KEY=key)
    message = str(refused.value)
    assert "\n" not in message
    assert "SECRET_KEY" in message and "at least 50 random characters" in message
    assert key not in message or not key  # the key itself is never echoed


def test_debug_is_refused():
    with pytest.raises(UnsafeConfiguration, match="DEBUG is on: unset FLASK_DEBUG"):
        production_app(DEBUG=True)


def test_missing_allowed_hosts_is_refused():
    with pytest.raises(UnsafeConfiguration, match="ALLOWED_HOSTS is empty: set ALLOWED_HOSTS="):
        production_app(ALLOWED_HOSTS=[])


def test_mail_with_links_to_this_machine_is_refused():
    with pytest.raises(UnsafeConfiguration, match="PUBLIC_BASE_URL points at this machine"):
        production_app(MAIL_SERVER="smtp.example.gov.ph", PUBLIC_BASE_URL="http://127.0.0.1:5000")
    assert production_app(MAIL_SERVER="smtp.example.gov.ph", PUBLIC_BASE_URL="https://obcms.example.gov.ph")
    assert production_app(MAIL_SERVER=None, PUBLIC_BASE_URL="http://127.0.0.1:5000")  # no e-mail, no links


def test_every_problem_is_named_on_the_one_line():
    with pytest.raises(UnsafeConfiguration) as refused:
        production_app(SECRET_KEY="dev", DEBUG=True, ALLOWED_HOSTS=[])
    message = str(refused.value)
    assert "\n" not in message
    assert all(name in message for name in ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"))


def test_starts_with_good_settings_and_secure_cookies():
    app = production_app()
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    response = app.test_client().get("/health", base_url="https://obcms.example.gov.ph")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_allowed_hosts_rejects_other_host_headers():
    client = production_app().test_client()
    assert client.get("/health", base_url="https://obcms.example.gov.ph").status_code == 200
    assert client.get("/health", base_url="https://obcms.example.gov.ph:443").status_code == 200
    assert client.get("/health", base_url="https://evil.example").status_code == 400
    assert client.get("/login", base_url="https://evil.example").status_code == 400


def test_default_and_testing_configs_are_not_checked():
    assert create_app(Config, SQLALCHEMY_DATABASE_URI="sqlite://").config["SECRET_KEY"]


def test_obcms_env_selects_the_configuration(monkeypatch):
    monkeypatch.setenv("OBCMS_ENV", "production")
    assert config_for_environment() is ProductionConfig
    monkeypatch.setenv("OBCMS_ENV", "")
    assert config_for_environment() is Config


def test_production_from_the_environment_refuses_the_default_key(monkeypatch):
    monkeypatch.setenv("OBCMS_ENV", "production")
    with pytest.raises(UnsafeConfiguration, match="SECRET_KEY"):
        create_app(ALLOWED_HOSTS=["obcms.example.gov.ph"], SQLALCHEMY_DATABASE_URI="sqlite://")


@pytest.mark.parametrize("key", ["0123456789" * 5, "abcdefghijklmnopqrstuvwxyz" * 2, "Aa1!" * 20 + "xyz"])
def test_patterned_secret_keys_are_refused(key):
    with pytest.raises(UnsafeConfiguration, match="SECRET_KEY"):
        production_app(SECRET_KEY=key)


@pytest.mark.parametrize("key", [secrets.token_hex(32), secrets.token_urlsafe(40), secrets.token_urlsafe(64)])
def test_random_secret_keys_pass(key):
    assert production_app(SECRET_KEY=key).config["SECRET_KEY"] == key


def test_a_wildcard_host_is_refused_in_every_environment():
    for config in (ProductionConfig, Config):
        with pytest.raises(UnsafeConfiguration, match=r"ALLOWED_HOSTS=\* would accept any Host"):
            create_app(config, **{**GOOD, "ALLOWED_HOSTS": ["*"]})


def test_host_names_compare_case_insensitively():
    client = production_app(ALLOWED_HOSTS=["OBCMS.example.gov.ph"]).test_client()
    assert client.get("/health", base_url="https://obcms.EXAMPLE.gov.ph").status_code == 200
    assert client.get("/health", base_url="https://evil.example").status_code == 400


def test_an_unknown_obcms_env_is_refused(monkeypatch):
    monkeypatch.setenv("OBCMS_ENV", "prod")
    with pytest.raises(UnsafeConfiguration, match="OBCMS_ENV='prod' is not an environment"):
        config_for_environment()
    monkeypatch.setenv("OBCMS_ENV", "Production")
    assert config_for_environment() is ProductionConfig
