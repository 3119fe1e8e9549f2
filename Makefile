# Two commands: `make run` (set up and start everything) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test setup lint format bench drill messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

# The address served: WEB_HOST (default 127.0.0.1) and WEB_PORT (default 8000), e.g.
# `WEB_PORT=8100 make run`. Settings derive BASE_URL from them unless BASE_URL is set, and
# every process (these commands, and web, worker and beat under honcho) reads the same
# variables from the environment or .env, so the Site, the banner and every link in mail
# name the port really served. Not given defaults here: an exported default would
# override a WEB_PORT or BASE_URL kept in .env for these commands but not for honcho.
setup: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_site
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py ensure_admin

run: setup
	@echo "Starting web, Celery worker and beat (addresses above). Ctrl-C stops all."
	PYTHONUNBUFFERED=1 $(BIN)/honcho start -f Procfile

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l zh_Hans -l en --ignore ".venv/*" --ignore "var/*" --ignore "bench/*"
	$(BIN)/python manage.py compilemessages --ignore ".venv/*"

BENCHMARKS := scheduler email_fanout redirect dashboard ops audiences
# The benchmarks drive wrk and Postfix's smtp-sink/smtp-source (Debian packages).
bench: $(STAMP)
	@command -v wrk >/dev/null && test -x /usr/sbin/smtp-sink || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk postfix)
	@for m in $(BENCHMARKS); do \
	  echo "== bench.$$m"; $(BIN)/python -m bench.$$m $(BENCH_ARGS) || exit 1; done

# Fault drills (deploy/drills/): private PostgreSQL :5440 and Redis :6390, a RabbitMQ
# vhost, real worker/beat/web processes. Prints a table; non-zero exit if a drill fails.
drill: $(STAMP)
	$(BIN)/python -m deploy.drills.run

clean:
	rm -rf var/broker var/celerybeat-schedule*
