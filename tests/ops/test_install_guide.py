"""The production install guide's files name real things: each systemd unit's ExecStart runs a program of the
installation (the virtualenv's gunicorn or flask) with a command obcms has, nginx serves the static folder
there is, and every `flask --app wsgi obcms …` command docs/INSTALL.md and the units mention exists."""
import configparser
import re
import shlex
from pathlib import Path

import pytest

from obcms.audit.retention import archive_directory
from obcms.ops.release import default_backup_directory
from obcms.reports.services import reports_directory

ROOT = Path(__file__).resolve().parents[2]
INSTALLED_AT = "/srv/obcms/"  # where the units and nginx expect the checkout (docs/INSTALL.md)
UNITS = sorted((ROOT / "deploy").glob("*.service"))


def exec_start(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(unit)
    return shlex.split(parser["Service"]["ExecStart"])


def local(path):
    """The installed path's file in this checkout."""
    assert path.startswith(INSTALLED_AT), path
    return ROOT / path.removeprefix(INSTALLED_AT)


def flask_command_exists(app, words):
    """`flask --app wsgi <words> --help` exits 0 (the words name a real command group and command)."""
    result = app.test_cli_runner().invoke(args=[*words, "--help"])
    return result.exit_code == 0


def test_the_units_are_there():
    assert [unit.name for unit in UNITS] == ["obcms-web.service", "obcms-worker@.service"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_each_units_exec_start_runs_a_real_command(app, unit):
    program, *arguments = exec_start(unit)
    assert local(program).exists(), program
    assert local(program).parent == ROOT / ".venv" / "bin"
    if Path(program).name == "gunicorn":
        assert arguments[-1] == "wsgi:app" and (ROOT / "wsgi.py").exists()
        assert (ROOT / "gunicorn.conf.py").exists()  # read from WorkingDirectory
    else:
        assert Path(program).name == "flask" and arguments[:2] == ["--app", "wsgi"], arguments
        assert flask_command_exists(app, arguments[2:]), arguments
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(unit)
    assert parser["Service"]["WorkingDirectory"] == INSTALLED_AT.rstrip("/")
    assert parser["Service"]["EnvironmentFile"] == "/etc/obcms.env"


def test_nginx_serves_the_static_folder_and_proxies_to_gunicorn():
    site = (ROOT / "deploy" / "nginx-obcms.conf").read_text()
    (static,) = re.findall(r"alias (\S+);", site)
    assert local(static.rstrip("/")) == ROOT / "static" and (ROOT / "static" / "css" / "app.css").exists()
    assert "server 127.0.0.1:8000" in site and "--bind 127.0.0.1:8000" in (ROOT / "deploy" / "obcms-web.service").read_text()
    assert "ssl_certificate " in site and "return 301 https://" in site


def test_every_obcms_command_the_guide_names_exists(app):
    guide = (ROOT / "docs" / "INSTALL.md").read_text() + (ROOT / "deploy" / "logrotate-obcms").read_text()
    commands = {tuple(match.split()) for match in re.findall(r"flask --app wsgi (obcms [a-z-]+(?:\s+[a-z-]+)?)", guide)}
    assert ("obcms", "release", "restore") in commands and len(commands) >= 10, commands
    for words in sorted(commands):
        assert flask_command_exists(app, list(words)), words
    assert "/var/log/obcms-cron.log" in (ROOT / "deploy" / "logrotate-obcms").read_text()
    assert all(line.rstrip().endswith(">> /var/log/obcms-cron.log 2>&1") for line in app.test_cli_runner().invoke(
        args=["obcms", "jobs", "schedule"]).stdout.splitlines())


def test_every_variable_of_the_example_environment_is_documented():
    readme = (ROOT / "README.md").read_text()
    names = [line.split("=", 1)[0] for line in (ROOT / "deploy" / "obcms.env.example").read_text().splitlines()
             if line and not line.startswith("#")]
    assert [name for name in names if f"`{name}`" not in readme] == []
    assert "[docs/INSTALL.md](docs/INSTALL.md)" in readme


def test_the_shared_folders_are_settings(app, monkeypatch, tmp_path):
    """Scaling out needs the report files and the audit archives in a folder every host sees."""
    with app.app_context():
        assert archive_directory() == Path(app.instance_path) / "audit-archive"
        for key, folder in (("AUDIT_ARCHIVE_DIR", "archives"), ("REPORTS_DIR", "reports"), ("BACKUP_DIR", "backups")):
            monkeypatch.setitem(app.config, key, str(tmp_path / folder))
        assert archive_directory() == tmp_path / "archives"
        assert reports_directory() == tmp_path / "reports"
        assert default_backup_directory() == tmp_path / "backups"
