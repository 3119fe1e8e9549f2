"""A real WordPress for the tests: Debian's `wordpress` package served by PHP's built-in
server on a free loopback port, on the local MariaDB.

`running_wordpress()` installs nothing: it uses what the packages put on the machine
(`.ci/run` installs them: wordpress, php-cli, php-xml, php-mysql) and raises
`PeerUnavailable` with the reason when something is missing. Per session it

- writes the site's config to /etc/wordpress/config-campaignhub-test.php (Debian's
  wp-config.php picks that file by the WORDPRESS_CONFIG the router sets, whatever the
  Host header says) and rewrites it only when it differs, so root is needed once;
- runs wordpress_setup.php: the database and the install are made on the first run and
  reused after (about half a second the first time); every run gets a fresh application
  password for the `campaignhub` Editor;
- starts `php -S` with wordpress_router.php (pretty /wp-json/ routes, uploads) and
  waits until the REST index answers; stops it when the session ends.

Tests share the install, so they tell their posts apart by a unique token in the title
rather than by counting everything on the site; posts older than an hour are removed at
the next setup.

Defaults fit this project's machines (MariaDB on 127.0.0.1:3306, root, empty password);
WORDPRESS_TEST_DB_USER / WORDPRESS_TEST_DB_PASSWORD / WORDPRESS_TEST_DB_HOST and
WORDPRESS_TEST_STATE_DIR change them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

WORDPRESS_DIR = Path("/usr/share/wordpress")  # Debian's layout
CONFIG_NAME = "campaignhub-test"
CONFIG_FILE = Path(f"/etc/wordpress/config-{CONFIG_NAME}.php")
DATABASE = "campaignhub_wp_test"
HERE = Path(__file__).resolve().parent
SETUP_SCRIPT = HERE / "wordpress_setup.php"
ROUTER_SCRIPT = HERE / "wordpress_router.php"
START_TIMEOUT = 20.0
# PHP's CLI SAPI prints notices on stdout by default, which would corrupt the JSON the
# setup prints and the pages the server answers: errors go to a log file instead. The
# install mails its admin; there is no MTA here.
PHP_OPTIONS = ("-d", "display_errors=0", "-d", "log_errors=1", "-d", "sendmail_path=/bin/true")


class PeerUnavailable(Exception):
    """The real WordPress cannot be had here; the message says why and what to do."""


@dataclass(frozen=True)
class WordPressPeer:
    base_url: str
    username: str
    application_password: str
    version: str

    @property
    def xmlrpc_url(self) -> str:
        return f"{self.base_url}/xmlrpc.php"

    def rest(self, timeout: float = 10.0) -> httpx.Client:
        """A client for the site's REST API (relative paths), signed in as the publishing
        user; absolute URLs (an upload) work too. No proxy from the environment: the site
        is on loopback."""
        return httpx.Client(
            base_url=f"{self.base_url}/wp-json/wp/v2/",
            auth=(self.username, self.application_password),
            timeout=timeout,
            trust_env=False,
        )


def _state_dir() -> Path:
    return Path(os.environ.get("WORDPRESS_TEST_STATE_DIR", "/var/tmp/campaignhub-wordpress"))


def _php_string(value: str) -> str:
    """A PHP single-quoted literal (no interpolation; only \\ and ' are special)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def site_config(content_dir: Path) -> str:
    """The PHP config of the test site (the constants Debian's wp-config.php expects)."""
    db = {
        "DB_NAME": DATABASE,
        "DB_USER": os.environ.get("WORDPRESS_TEST_DB_USER", "root"),
        "DB_PASSWORD": os.environ.get("WORDPRESS_TEST_DB_PASSWORD", ""),
        "DB_HOST": os.environ.get("WORDPRESS_TEST_DB_HOST", "127.0.0.1:3306"),
        "DB_CHARSET": "utf8mb4",
    }
    lines = [
        "<?php",
        "/* The throwaway WordPress the CampaignHub tests publish to. Written by",
        " * tests/peers/wordpress.py, which rewrites it whenever it differs. */",
        *(f"define('{name}', {_php_string(value)});" for name, value in db.items()),
        "// Application passwords need HTTPS unless the site says it is a local one.",
        "define('WP_ENVIRONMENT_TYPE', 'local');",
        f"define('WP_CONTENT_DIR', {_php_string(str(content_dir))});",
        "// The port changes every run: the site's own URLs follow the Host header.",
        "define('WP_HOME', 'http://' . $_SERVER['HTTP_HOST']);",
        "define('WP_SITEURL', WP_HOME);",
        "define('WP_CONTENT_URL', WP_HOME . '/wp-content');",
        "// Nothing leaves the machine: no update checks, no cron requests to itself.",
        "define('WP_HTTP_BLOCK_EXTERNAL', true);",
        "define('DISABLE_WP_CRON', true);",
        "define('AUTOMATIC_UPDATER_DISABLED', true);",
        "",
    ]
    return "\n".join(lines)


def _check_packages() -> str:
    """The php binary; PeerUnavailable naming what is missing otherwise."""
    php = shutil.which("php")
    if not (WORDPRESS_DIR / "wp-load.php").is_file() or php is None:
        raise PeerUnavailable(
            "Debian's WordPress (apt-get install --no-install-recommends "
            "wordpress php-cli php-xml php-mysql)"
        )
    modules = subprocess.run([php, "-m"], capture_output=True, text=True, check=False).stdout
    missing = [m for m in ("mysqli", "xml") if m not in modules.split()]
    if missing:
        raise PeerUnavailable(
            f"PHP without {', '.join(missing)} (apt-get install php-mysql php-xml)"
        )
    return php


def _write_config(content_dir: Path) -> None:
    wanted = site_config(content_dir)
    if CONFIG_FILE.is_file() and CONFIG_FILE.read_text() == wanted:
        return
    try:
        CONFIG_FILE.write_text(wanted)
    except OSError as exc:
        raise PeerUnavailable(
            f"cannot write {CONFIG_FILE} ({exc}); run the tests once as root to create it"
        ) from exc


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _php_env(content_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "WORDPRESS_CONFIG": CONFIG_NAME,
        "WORDPRESS_CONTENT_DIR": str(content_dir),
    }


def _php(php: str, state: Path, *args: str) -> list[str]:
    return [php, *PHP_OPTIONS, "-d", f"error_log={state / 'php-errors.log'}", *args]


def _run_setup(php: str, host: str, state: Path, env: dict[str, str]) -> dict:
    # One setup at a time: two sessions installing into one empty database would race.
    with open(state / "setup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = subprocess.run(
            _php(php, state, str(SETUP_SCRIPT), host),
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-2000:]
        raise PeerUnavailable(f"WordPress setup failed (exit {done.returncode}): {detail}")
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise PeerUnavailable(f"WordPress setup printed no credentials: {done.stdout!r}") from exc


def _wait_until_up(server: subprocess.Popen, base_url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise PeerUnavailable(
                f"php -S exited with {server.returncode}: {log.read_text()[-2000:]}"
            )
        try:
            answer = httpx.get(f"{base_url}/wp-json/", timeout=2, trust_env=False)
            if answer.status_code == 200 and "wp/v2" in answer.json().get("namespaces", []):
                return
            last = f"HTTP {answer.status_code}: {answer.text[:300]}"
        except (httpx.HTTPError, ValueError) as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise PeerUnavailable(f"WordPress did not come up at {base_url} ({last})")


def _mariadb_reachable() -> None:
    host, _, port = os.environ.get("WORDPRESS_TEST_DB_HOST", "127.0.0.1:3306").partition(":")
    try:
        with socket.create_connection((host, int(port or 3306)), timeout=2):
            return
    except OSError as exc:
        raise PeerUnavailable(f"MariaDB at {host}:{port or 3306} ({exc})") from exc


@contextlib.contextmanager
def running_wordpress() -> Iterator[WordPressPeer]:
    """Set up (or reuse) the test WordPress, serve it, yield how to reach it, stop it."""
    php = _check_packages()
    _mariadb_reachable()
    state = _state_dir()
    content_dir = state / "wp-content"
    (content_dir / "uploads").mkdir(parents=True, exist_ok=True)
    _write_config(content_dir)
    env = _php_env(content_dir)
    host = f"127.0.0.1:{_free_port()}"
    credentials = _run_setup(php, host, state, env)
    log = state / f"server-{host.rpartition(':')[2]}.log"
    with open(log, "w") as log_file:
        server = subprocess.Popen(
            _php(php, state, "-S", host, "-t", str(WORDPRESS_DIR), str(ROUTER_SCRIPT)),
            env={**env, "PHP_CLI_SERVER_WORKERS": "2"},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers stop with it
        )
    try:
        base_url = f"http://{host}"
        _wait_until_up(server, base_url, log)
        yield WordPressPeer(base_url=base_url, **credentials)
    finally:
        _stop(server)
        log.unlink(missing_ok=True)


def _stop(server: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, 15)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, 9)
        server.wait()
