""".env.example names every setting read from the environment, and the compose file
uses only settings that exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV_CALL = re.compile(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"')


def settings_variables() -> set[str]:
    names = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        names |= set(ENV_CALL.findall(path.read_text()))
    return names


def example_variables() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


def test_every_setting_is_named_in_env_example():
    missing = settings_variables() - example_variables()
    assert not missing, f"add these to .env.example with their default: {sorted(missing)}"


def test_the_scan_finds_the_settings_it_should():
    # Guards the regex above: a scan that found nothing would pass the test vacuously.
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "WAGTAIL_TASKS_BACKEND"} <= settings_variables()


def test_gunicorn_config_loads_and_sizes_from_the_environment(monkeypatch):
    import runpy

    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert conf["workers"] == 7
    assert conf["worker_class"] == "gthread"
    assert conf["timeout"] < 60  # below the proxy's proxy_read_timeout
