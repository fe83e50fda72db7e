# Shared settings for the project's scripts: where the local servers keep their data and
# which loopback addresses they listen on. Sourced, never run.
# Everything a local run writes lives under one folder so that `make clean-run` can reset it.
SWITCHYARD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${SWITCHYARD_RUN_DIR:-$SWITCHYARD_ROOT/.run}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_PORT="${PG_PORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"
AMQP_PORT="${AMQP_PORT:-5672}"
RABBITMQ_NODENAME="${RABBITMQ_NODENAME:-switchyard@localhost}"

# Defaults the services read; anything already set in the environment wins.
export DATABASE_URL="${DATABASE_URL:-postgres://switchyard@127.0.0.1:$PG_PORT/switchyard}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
export AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:$AMQP_PORT/%2F}"
export BLOB_STORE="${BLOB_STORE:-file://$RUN_DIR/blobs}"

log() { printf '\033[1;34m[switchyard]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[switchyard]\033[0m %s\n' "$*" >&2; exit 1; }
