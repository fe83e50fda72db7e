# Shared settings for the project's scripts: where the local servers keep their data and
# which loopback addresses they listen on. Sourced, never run.
# Everything a local run writes (the servers' data, blobs, mail, benchmark files) lives under
# one folder, RUN_DIR, so that `make clean-run` can reset it. That folder is not in the
# checkout: PostgreSQL and RabbitMQ run as their own users, who cannot enter a checkout under
# /root or in a mode-700 folder. Each checkout gets its own folder under /var/lib/switchyard,
# named after the checkout's folder and a hash of its absolute path (e.g.
# /var/lib/switchyard/switchyard-1a2b3c4d). SWITCHYARD_RUN_DIR overrides it; the users
# `postgres` and `rabbitmq` must be able to reach that folder.
SWITCHYARD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SWITCHYARD_DATA_HOME=/var/lib/switchyard
RUN_DIR="${SWITCHYARD_RUN_DIR:-$SWITCHYARD_DATA_HOME/$(basename "$SWITCHYARD_ROOT" | tr -c 'A-Za-z0-9._\n-' '_' | cut -c1-40)-$(printf '%s' "$SWITCHYARD_ROOT" | sha256sum | cut -c1-8)}"
RUN_DIR="$(realpath -m "$RUN_DIR")"  # absolute: the servers start from "/"
# Where earlier versions kept it: still stopped by `make stop` and deleted by `make clean-run`.
LEGACY_RUN_DIR="$SWITCHYARD_ROOT/.run"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_PORT="${PG_PORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"
AMQP_PORT="${AMQP_PORT:-5672}"
# The local SMTP sink (scripts/mail_sink.py): every mail the services send lands in $RUN_DIR/mail.
SMTP_PORT="${SMTP_PORT:-2525}"
RABBITMQ_NODENAME="${RABBITMQ_NODENAME:-switchyard@localhost}"
# The broker's inter-node (Erlang distribution) port, RabbitMQ's own default: AMQP_PORT + 20000.
# Set it too when running a second broker beside one on the default ports.
RABBITMQ_DIST_PORT="${RABBITMQ_DIST_PORT:-$((AMQP_PORT + 20000))}"
# moto's S3 API server (scripts/servers.sh): where the S3 blob driver's tests find a bucket
# service, and a local run with BLOB_STORE=s3://... too.
S3_PORT="${S3_PORT:-9000}"

# Defaults the services read; anything already set in the environment wins.
export DATABASE_URL="${DATABASE_URL:-postgres://switchyard@127.0.0.1:$PG_PORT/switchyard}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
export AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:$AMQP_PORT/%2F}"
export SMTP_URL="${SMTP_URL:-smtp://127.0.0.1:$SMTP_PORT}"
export BLOB_STORE="${BLOB_STORE:-file://$RUN_DIR/blobs}"
# The local run, the tests and the benchmarks: secrets may stay unset (development values).
# A deployment leaves this unset, and then a missing or placeholder secret stops a service.
export SWITCHYARD_ENV="${SWITCHYARD_ENV:-development}"

log() { printf '\033[1;34m[switchyard]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[switchyard]\033[0m %s\n' "$*" >&2; exit 1; }
