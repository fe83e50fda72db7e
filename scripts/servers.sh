#!/usr/bin/env bash
# Starts (or stops) the servers Switchyard needs, on loopback, with their data under
# $RUN_DIR (scripts/env.sh: /var/lib/switchyard/<checkout>-<hash>, where the `postgres` and
# `rabbitmq` users can reach it wherever the checkout is). A server that already answers is
# reused, so `make run` and `make test` can share.
# PostgreSQL, Redis and RabbitMQ; the local SMTP sink; and moto, an S3 API server, for the S3
# blob driver (its tests, and a local run with BLOB_STORE=s3://...).
#   scripts/servers.sh start [postgres|redis|rabbitmq|mail|s3 ...] | stop [postgres|redis|rabbitmq|mail|s3 ...]
#                      | status | clean | rabbitmqctl ARGS
# `clean` stops the servers and deletes $RUN_DIR (and the .run/ of earlier versions).
# With STARTED_FILE set, `start` writes there the names of the servers it started itself, so
# that `make run` stops on Ctrl-C only what it started.
set -euo pipefail
source "$(dirname "$0")/env.sh"

# From "/": the caller's folder (a checkout in a mode-700 folder, say) may be closed to the
# user, and Erlang's code loader then fails on every module it looks up in "." first.
as_user() { local user=$1; shift; (cd / && exec runuser -u "$user" -- "$@"); }
# The AMQP listener is named once, in rabbitmq.conf (loopback, $AMQP_PORT). The inter-node port
# and epmd (when this starts it) listen on loopback too.
rabbit_env=(env HOME=/var/lib/rabbitmq ERL_EPMD_ADDRESS=127.0.0.1
  RABBITMQ_NODENAME="$RABBITMQ_NODENAME" RABBITMQ_DIST_PORT="$RABBITMQ_DIST_PORT"
  RABBITMQ_MNESIA_BASE="$RUN_DIR/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$RUN_DIR/rabbitmq/log"
  RABBITMQ_PID_FILE="$RUN_DIR/rabbitmq/rabbitmq.pid" RABBITMQ_ENABLED_PLUGINS_FILE="$RUN_DIR/rabbitmq/enabled_plugins"
  RABBITMQ_CONFIG_FILE="$RUN_DIR/rabbitmq/rabbitmq"
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+sbwt none +sbwtdcpu none +sbwtdio none -kernel inet_dist_use_interface {127,0,0,1}")
rabbitmqctl() { as_user rabbitmq "${rabbit_env[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl "$@"; }

started() { [ -n "${STARTED_FILE:-}" ] && echo "$1" >> "$STARTED_FILE" || true; }

pg_up() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
amqp_up() { (exec 3<>"/dev/tcp/127.0.0.1/$AMQP_PORT") 2>/dev/null; }
mail_up() { (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null; }
# The sink's pid, when the process recorded in its pid file is still the sink (not a reused pid).
mail_pid() {
  local pid
  pid=$(cat "$RUN_DIR/mail-sink.pid" 2>/dev/null) || return 1
  grep -qa mail_sink.py "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}
s3_up() { (exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null; }

# $RUN_DIR itself belongs to root and is searchable by all (mode 755), so that each server's
# own subfolder (postgres: mode 700, rabbitmq: 750, owned by that user) can be reached.
make_run_dir() {
  [ -n "${SWITCHYARD_RUN_DIR:-}" ] || mkdir -p -m 755 "$SWITCHYARD_DATA_HOME"
  mkdir -p -m 755 "$RUN_DIR"
  local legacy="$LEGACY_RUN_DIR/postgres/PG_VERSION"
  if [ "$RUN_DIR" != "$LEGACY_RUN_DIR" ] && [ -f "$legacy" ] && [ ! -f "$RUN_DIR/postgres/PG_VERSION" ]; then
    log "note: $LEGACY_RUN_DIR (where earlier versions kept the servers' data) is no longer used; 'make clean-run' deletes it"
  fi
}
# Fails early, with the reason, when a server's user cannot reach its folder (a
# SWITCHYARD_RUN_DIR inside a folder only root may enter, for instance).
check_reachable() {
  local user=$1 folder=$2
  as_user "$user" test -w "$folder" -a -x "$folder" ||
    die "user $user cannot write to $folder: every folder above it must be searchable by $user (set SWITCHYARD_RUN_DIR to a folder it can reach, or leave it unset for $SWITCHYARD_DATA_HOME/...)"
}

start_postgres() {
  if pg_up; then log "PostgreSQL already answers on $PG_PORT"; else
    local data="$RUN_DIR/postgres"
    mkdir -p "$data" && chown postgres:postgres "$data" && chmod 700 "$data"
    check_reachable postgres "$data"
    if [ ! -f "$data/PG_VERSION" ]; then
      log "initialising PostgreSQL in $data"
      as_user postgres "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    started postgres
    as_user postgres "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start \
      -o "-h 127.0.0.1 -p $PG_PORT -k $data -c max_connections=300 -c shared_buffers=256MB -c fsync=on" >/dev/null
  fi
  # The project's role and database; trust auth on loopback is the local run's choice.
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='switchyard'" | grep -q 1 ||
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE ROLE switchyard LOGIN SUPERUSER"
  for db in switchyard switchyard_test switchyard_bench; do
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 ||
      psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE $db OWNER switchyard"
  done
}

start_redis() {
  if redis_up; then log "Redis already answers on $REDIS_PORT"; return; fi
  mkdir -p "$RUN_DIR/redis"
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  started redis
  # appendonly with fsync every second: rate-limit and dedup state survive a restart.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$RUN_DIR/redis" --daemonize yes \
    --pidfile "$RUN_DIR/redis/redis.pid" --logfile "$RUN_DIR/redis/redis.log" \
    --appendonly yes --appendfsync everysec --save "" >/dev/null
  for _ in $(seq 50); do redis_up && return; sleep 0.1; done
  die "Redis did not start: see $RUN_DIR/redis/redis.log"
}

start_rabbitmq() {
  if amqp_up; then log "RabbitMQ already answers on $AMQP_PORT"; return; fi
  mkdir -p "$RUN_DIR/rabbitmq/mnesia" "$RUN_DIR/rabbitmq/log"
  echo "[]." > "$RUN_DIR/rabbitmq/enabled_plugins"
  # Loopback only; a heartbeat the clients honour; disk alarm low enough for a dev machine.
  cat > "$RUN_DIR/rabbitmq/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$AMQP_PORT
loopback_users = none
heartbeat = 30
disk_free_limit.absolute = 200MB
log.file.level = warning
CONF
  chown -R rabbitmq:rabbitmq "$RUN_DIR/rabbitmq" && chmod 750 "$RUN_DIR/rabbitmq"
  check_reachable rabbitmq "$RUN_DIR/rabbitmq/mnesia"
  # Every quorum queue keeps files open, and the suites declare a few hundred of them across
  # their vhosts: at the usual soft limit of 1,024 descriptors the broker stopped accepting
  # connections ("out of file descriptors") and every client's login timed out.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  log "starting RabbitMQ on 127.0.0.1:$AMQP_PORT (takes 5 to 20 seconds)"
  started rabbitmq
  # runuser's PAM session resets the soft limit to 1,024: raise it again as the broker's user.
  as_user rabbitmq "${rabbit_env[@]}" sh -c 'ulimit -n "$(ulimit -Hn)"; exec "$@"' sh /usr/lib/rabbitmq/bin/rabbitmq-server -detached
  # await_startup fails at once while the node has not registered yet, so poll it.
  for _ in $(seq 60); do
    rabbitmqctl await_startup --timeout 60 >/dev/null 2>&1 && return
    sleep 1
  done
  die "RabbitMQ did not start: see $RUN_DIR/rabbitmq/log"
}

# The SMTP sink (aiosmtpd): each mail the services send becomes a file in $RUN_DIR/mail. It runs
# as the caller, detached from this shell, until `stop` (or `stop mail`).
start_mail() {
  if mail_up; then log "an SMTP server already answers on $SMTP_PORT"; return; fi
  mkdir -p "$RUN_DIR/mail"
  log "starting the SMTP sink on 127.0.0.1:$SMTP_PORT (mail in $RUN_DIR/mail)"
  started mail
  setsid python3 "$SWITCHYARD_ROOT/scripts/mail_sink.py" --host 127.0.0.1 --port "$SMTP_PORT" --folder "$RUN_DIR/mail" \
    >"$RUN_DIR/mail-sink.log" 2>&1 </dev/null &
  echo $! > "$RUN_DIR/mail-sink.pid"
  for _ in $(seq 50); do mail_up && return; sleep 0.1; done
  die "the SMTP sink did not start: see $RUN_DIR/mail-sink.log"
}

stop_mail() {
  local pid
  pid=$(mail_pid) || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$RUN_DIR/mail-sink.pid"
}

# moto keeps its buckets in memory only: stopping it (`make stop`, a reboot) forgets every
# object. For the tests that is what we want (each creates its own bucket); for a local run
# with BLOB_STORE=s3://... it means the database may name blobs that are gone after a restart
# (downloads answer 404), so the local run's default stays the folder store (file://).
start_s3() {
  if s3_up; then log "an S3 server already answers on $S3_PORT"; return; fi
  mkdir -p "$RUN_DIR/moto"
  log "starting moto (S3 API) on 127.0.0.1:$S3_PORT"
  started s3
  # Its own session: a Ctrl-C of `make run` reaches it only through `stop`, like the others.
  (cd / && exec setsid nohup python3 -m moto.server --host 127.0.0.1 --port "$S3_PORT" \
    >"$RUN_DIR/moto/moto.log" 2>&1 </dev/null) &
  echo $! > "$RUN_DIR/moto/moto.pid"
  for _ in $(seq 100); do s3_up && return; sleep 0.1; done
  die "moto did not start: see $RUN_DIR/moto/moto.log (scripts/install-deps.sh installs it)"
}
stop_s3() {
  local pidfile="$RUN_DIR/moto/moto.pid"
  [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  # A stale file (moto gone, its pid reused since) must not stop another process.
  grep -q moto.server "/proc/$pid/cmdline" 2>/dev/null || { rm -f "$pidfile"; return 0; }
  # moto's server does not always exit on SIGTERM; it has nothing to save (memory only).
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

start_servers() {
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || names=(postgres redis rabbitmq mail s3)
  make_run_dir
  for name in "${names[@]}"; do
    case "$name" in
      postgres) start_postgres ;;
      redis) start_redis ;;
      rabbitmq) start_rabbitmq; ensure_vhosts ;;
      mail) start_mail ;;
      s3) start_s3 ;;
      *) die "unknown server $name: expected postgres, redis, rabbitmq, mail or s3" ;;
    esac
  done
}

# Virtual hosts keep tests and benchmarks off the local run's queues (vhost "/"), the way
# separate databases keep their rows apart.
ensure_vhosts() {
  local existing
  existing=$(rabbitmqctl list_vhosts --quiet 2>/dev/null || true)
  for vhost in switchyard_test switchyard_test_events switchyard_isolated switchyard_faults switchyard_cli switchyard_bench; do
    grep -qx "$vhost" <<<"$existing" && continue
    rabbitmqctl add_vhost "$vhost" >/dev/null
    rabbitmqctl set_permissions -p "$vhost" guest ".*" ".*" ".*" >/dev/null
  done
}

stop_servers() {
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || names=(postgres redis rabbitmq mail s3)
  for name in "${names[@]}"; do
    case "$name" in
      # Also a PostgreSQL an earlier version started from the checkout's .run/, but only the one
      # on this run's port: a second set of servers (other ports) must not stop the first.
      postgres) for dir in "$RUN_DIR/postgres" "$LEGACY_RUN_DIR/postgres"; do
                  [ -f "$dir/postmaster.pid" ] && [ "$(sed -n 4p "$dir/postmaster.pid")" = "$PG_PORT" ] &&
                    as_user postgres "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
                done ;;
      redis) redis_up && redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true ;;
      rabbitmq) [ -d "$RUN_DIR/rabbitmq" ] || [ -d "$LEGACY_RUN_DIR/rabbitmq" ] &&
                  rabbitmqctl stop >/dev/null 2>&1 || true ;;
      # Only the sink this run folder started (its pid file), never another SMTP server.
      mail) stop_mail ;;
      s3) stop_s3 ;;
    esac
    log "$name stopped"
  done
}

# Deletes what the local servers and services wrote: $RUN_DIR and the old .run/. Refuses a
# SWITCHYARD_RUN_DIR that is "/", the folder of every checkout's data, or holds the checkout.
check_deletable() {
  case "$RUN_DIR" in /|"$SWITCHYARD_DATA_HOME") die "refusing to delete $RUN_DIR" ;; esac
  case "$(realpath -m "$SWITCHYARD_ROOT")/" in "$RUN_DIR"/*) die "refusing to delete $RUN_DIR: it holds the checkout" ;; esac
}
clean_run_dir() {
  rm -rf "$RUN_DIR" "$LEGACY_RUN_DIR"
  log "deleted $RUN_DIR"
}

case "${1:-start}" in
  start) shift || true; start_servers "$@" ;;
  stop) shift; stop_servers "$@" ;;
  clean) check_deletable; stop_servers; clean_run_dir ;;
  status) pg_up && echo "postgres up" || echo "postgres down"; redis_up && echo "redis up" || echo "redis down"
          amqp_up && echo "rabbitmq up" || echo "rabbitmq down"; mail_up && echo "mail sink up" || echo "mail sink down"
          s3_up && echo "s3 up" || echo "s3 down" ;;
  rabbitmqctl) shift; rabbitmqctl "$@" ;;
  *) die "usage: $0 start [NAME ...]|stop [NAME ...]|status|clean|rabbitmqctl ARGS" ;;
esac
