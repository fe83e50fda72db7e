#!/usr/bin/env bash
# `make bench`: measures the Swift wrappers next to baselines run on the same machine in the
# same run, and prints a table with the ratio. Figures vary between machines; ratios much less.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SWITCHYARD_ROOT"
"$SWITCHYARD_ROOT/scripts/install-deps.sh"
"$SWITCHYARD_ROOT/scripts/servers.sh" start >/dev/null

log "building (release)"
swift build -c release --product switchyard-bench >/dev/null
BENCH="$(swift build -c release --show-bin-path)/switchyard-bench"
gcc -O2 -o "$RUN_DIR/amqp_publish_loop" Benchmarks/c/amqp_publish_loop.c $(pkg-config --cflags --libs librabbitmq)

MESSAGES="${BENCH_MESSAGES:-20000}"
REQUESTS="${BENCH_REQUESTS:-100000}"
rows=()
row() { rows+=("$(printf '%-58s %12s %12s %7s' "$1" "$2" "$3" "$(python3 -c "print(f'{$2/$3:.2f}')")")"); }

log "AMQP: $MESSAGES persistent messages with confirms, quorum queue (best of 3 each)"
best_swift=0; best_c=0
for _ in 1 2 3; do
  "$BENCH" amqp-publish --prepare
  c=$("$RUN_DIR/amqp_publish_loop" 127.0.0.1 "$AMQP_PORT" bench.publish "$MESSAGES" 500 256)
  s=$("$BENCH" amqp-publish --messages "$MESSAGES" --concurrency 500)
  [ "$c" -gt "$best_c" ] && best_c=$c; [ "$s" -gt "$best_swift" ] && best_swift=$s
done
row "AMQP publish+confirm msg/s: AMQPPublisher vs C loop" "$best_swift" "$best_c"

log "Redis: SET, 50 concurrent clients"
rb() { redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -t set -n "$REQUESTS" -c 50 -P "$1" -d 3 --csv -q | tail -1 | cut -d, -f2 | tr -d '"' | cut -d. -f1; }
row "Redis SET/s: RedisClient vs redis-benchmark" "$("$BENCH" redis --requests "$REQUESTS" --concurrency 50)" "$(rb 1)"
row "Redis SET/s pipelined x100: RedisClient vs redis-benchmark" "$("$BENCH" redis --requests $((REQUESTS * 10)) --concurrency 4 --pipeline 100)" "$(rb 100)"

printf '\n%-58s %12s %12s %7s\n' "benchmark" "switchyard" "baseline" "ratio"
printf '%s\n' "${rows[@]}"
