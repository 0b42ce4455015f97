#!/usr/bin/env bash
# Installs (when absent) and starts the services the test suite needs, all on 127.0.0.1:
#   PostgreSQL (Debian package), Redis (Debian package), Chromium (Debian package, for Playwright).
# The SMTP server the tests use is aiosmtpd, started inside the tests themselves.
# Prints the environment to export, e.g.:  eval "$(scripts/services.sh)"
# Idempotent: a second run finds the running services and only prints the environment.
set -euo pipefail
log() { echo "services: $*" >&2; }

STATE=${PRIVACYOPS_SERVICES_DIR:-/tmp/privacyops-services}
PGPORT=${PRIVACYOPS_TEST_PGPORT:-54329}
REDISPORT=${PRIVACYOPS_TEST_REDISPORT:-63799}
mkdir -p "$STATE"

need_apt=()
pg_bin=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && pg_bin=$d; done
[ -n "$pg_bin" ] || need_apt+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && pg_bin=$d; done
fi

# PostgreSQL: a private cluster owned by the 'postgres' user (initdb refuses to run as root)
PGDATA=$STATE/pg
if ! "$pg_bin/pg_isready" -h 127.0.0.1 -p "$PGPORT" -q 2>/dev/null; then
  id postgres >/dev/null 2>&1 || useradd --system --home "$STATE" postgres
  mkdir -p "$PGDATA" && chown -R postgres "$STATE" 2>/dev/null || true
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    log "initdb $PGDATA"
    su postgres -s /bin/sh -c "$pg_bin/initdb -D '$PGDATA' -U postgres --auth=trust -E UTF8 >/dev/null"
  fi
  log "starting PostgreSQL on 127.0.0.1:$PGPORT"
  su postgres -s /bin/sh -c "$pg_bin/pg_ctl -D '$PGDATA' -l '$STATE/pg.log' -w -o \"-h 127.0.0.1 -p $PGPORT -k /tmp -c fsync=off -c full_page_writes=off -c max_connections=200\" start >/dev/null"
fi
for db in privacyops_test privacyops_bench; do
  "$pg_bin/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
    || "$pg_bin/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres "$db"
done

# Redis (Celery broker in scaled-out mode)
if ! redis-cli -p "$REDISPORT" ping >/dev/null 2>&1; then
  log "starting Redis on 127.0.0.1:$REDISPORT"
  redis-server --bind 127.0.0.1 --port "$REDISPORT" --daemonize yes --save '' --appendonly no \
    --logfile "$STATE/redis.log" >&2
fi

echo "export PRIVACYOPS_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$PGPORT/privacyops_test"
echo "export PRIVACYOPS_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$PGPORT/privacyops_bench"
echo "export PRIVACYOPS_TEST_REDIS_URL=redis://127.0.0.1:$REDISPORT/0"
echo "export PRIVACYOPS_BENCH_REDIS_URL=redis://127.0.0.1:$REDISPORT/1"
echo "export PRIVACYOPS_CHROMIUM=/usr/bin/chromium"
