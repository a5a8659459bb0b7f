"""`make test` on a machine without chromium: the browser tests are skipped with one line saying so and how to
install it, and the run passes; with OBCMS_REQUIRE_BROWSER=1 (CI) the missing browser fails the run. Each case
runs pytest in a subprocess on one browser test, with OBCMS_CHROMIUM pointing at nothing (no browser starts)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ONE_BROWSER_TEST = "tests/e2e/test_sign_in.py::test_signed_in_page_helper_accepts_a_role_name"


def run_browser_test(tmp_path, **env):
    missing = tmp_path / "no-chromium-here"
    environment = {k: v for k, v in os.environ.items() if k not in ("OBCMS_REQUIRE_BROWSER", "TEST_DATABASE_URL")}
    environment.update(OBCMS_CHROMIUM=str(missing), OBCMS_TEST_BACKEND="sqlite", **env)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", ONE_BROWSER_TEST], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr, str(missing)


def test_without_chromium_the_browser_tests_are_skipped_with_one_line(tmp_path):
    code, output, missing = run_browser_test(tmp_path)
    assert code == 0, output
    lines = [line for line in output.splitlines() if "apt-get install -y chromium" in line]
    assert lines == [f"1 browser test skipped: no chromium at {missing}; install it with `apt-get install -y chromium` "
                     "(or point OBCMS_CHROMIUM at one)"], output
    assert "1 skipped" in output


def test_with_obcms_require_browser_a_missing_chromium_fails(tmp_path):
    code, output, missing = run_browser_test(tmp_path, OBCMS_REQUIRE_BROWSER="1")
    assert code != 0, output
    assert f"OBCMS_REQUIRE_BROWSER=1 and no chromium at {missing}" in output
    assert "skipped" not in output
