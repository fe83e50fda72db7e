#!/usr/bin/env bash
# `make chaos`: the release services under a steady load while workers are killed, the servers
# restarted and the feed provider misbehaves (scripts/chaos.py says how and what it prints).
# It restarts the local PostgreSQL, Redis and RabbitMQ: anything else using them (a `make run`)
# sees the same outages. The services get their own database, vhosts and Redis database.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SWITCHYARD_ROOT"
"$SWITCHYARD_ROOT/scripts/install-deps.sh"
"$SWITCHYARD_ROOT/scripts/servers.sh" start

log "building (release)"
swift build -c release
BIN="$(swift build -c release --show-bin-path)"

database=switchyard_chaos vhost=switchyard_chaos
psql -h 127.0.0.1 -p "$PG_PORT" -U switchyard -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1 ||
  createdb -h 127.0.0.1 -p "$PG_PORT" -U switchyard "$database"
existing_vhosts=$(bash scripts/servers.sh rabbitmqctl list_vhosts --quiet)
for v in "$vhost" "${vhost}_events"; do
  grep -qx "$v" <<<"$existing_vhosts" && continue
  bash scripts/servers.sh rabbitmqctl add_vhost "$v" >/dev/null
  bash scripts/servers.sh rabbitmqctl set_permissions -p "$v" guest '.*' '.*' '.*' >/dev/null
done
export DATABASE_URL="postgres://switchyard@127.0.0.1:$PG_PORT/$database"
export AMQP_URL="amqp://guest:guest@127.0.0.1:$AMQP_PORT/$vhost"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/4"
"$BIN/switchyard" migrate
# Services that outlive this script (an earlier run stopped with SIGKILL) would hold the ports.
pkill -f "$BIN/(ingest|storage|processing|notification)$" 2>/dev/null || true
python3 scripts/chaos.py --bin "$BIN" --database-url "$DATABASE_URL" --amqp-url "$AMQP_URL" --redis-url "$REDIS_URL" \
  --run-dir "$RUN_DIR" --rate "${CHAOS_RATE:-200}" --phase-seconds "${CHAOS_PHASE_SECONDS:-10}"
