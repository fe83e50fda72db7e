# Sourced by scripts/bench.sh (ingest on 18680 still runs, with storage; BIN, DURATION, ROUNDS,
# RUN_DIR, PG_PORT, pids, ingest_pid, log, die, row, start and wait_ready come from there). Sets
# invoice_notes for the summary.
#
# Invoices (issue 13): uploads per second of 100 KiB PDFs through multipart next to the bare
# route; ingest's peak memory during ten concurrent 100 MiB uploads; the download of a 100 MiB
# file next to reading the same file straight from the blob folder.
# An ingest of its own that takes 100 MiB files, with a storage and a processing (qpdf checks
# the files) of their own, all on a blob folder of their own, removed at the end.
# (A folder left by an interrupted run is removed first: a few minutes before the next run.)
blob_folder="$RUN_DIR/bench-blobs"; rm -rf "$blob_folder"; mkdir -p "$blob_folder"
big="$RUN_DIR/bench-invoice.pdf"
python3 Benchmarks/big_pdf.py 100 "$big"
BLOB_STORE="file://$blob_folder" INVOICE_MAX_BYTES=$((110 << 20)) HTTP_PORT=18687 METRICS_PORT=18687 BENCH_ROUTES=1 "$BIN/ingest" & big_ingest=$!; pids+=($big_ingest)
BLOB_STORE="file://$blob_folder" HTTP_PORT=18688 METRICS_PORT=18688 "$BIN/processing" & invoice_processing=$!; pids+=($!)
BLOB_STORE="file://$blob_folder" HTTP_PORT=18689 METRICS_PORT=18689 "$BIN/storage" & invoice_storage=$!; pids+=($!)
wait_ready 18687; wait_ready 18688; wait_ready 18689
log "invoices: 100 KiB multipart uploads vs the bare route"
best_upload=0; best_bare=0; upload_p99=""; bare_p99=""
for _ in $(seq "$ROUNDS"); do
  read -r rps p99 < <(wrk -t2 -c32 -d"${DURATION}s" --latency "http://127.0.0.1:18687/_bench/bare" |
                      awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {printf "%d %s\n", rps, p99}')
  [ "$rps" -gt "$best_bare" ] && { best_bare=$rps; bare_p99=$p99; }
  # What each upload costs each process in CPU (the checks run while the uploads come in).
  invoice_processes=("$big_ingest" "$invoice_storage" "$invoice_processing" "$(pgrep -u rabbitmq -f beam.smp | head -1)" "$(cat "$RUN_DIR/redis/redis.pid")")
  before=(); for pid in "${invoice_processes[@]}"; do before+=("$(cpu_ticks "$pid")"); done
  out=$(wrk -t2 -c32 -d"${DURATION}s" --latency -s Benchmarks/wrk/invoice_upload.lua "http://127.0.0.1:18687/api/sender/invoices")
  after=(); for pid in "${invoice_processes[@]}"; do after+=("$(cpu_ticks "$pid")"); done
  read -r rps p99 < <(awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {printf "%d %s\n", rps, p99}' <<<"$out")
  if [ "$rps" -gt "$best_upload" ]; then
    best_upload=$rps; upload_p99=$p99
    upload_requests=$(awk '/requests in/ {print $1}' <<<"$out")
    us() { echo $(( (after[$1] - before[$1]) * 1000000 / $(getconf CLK_TCK) / upload_requests )); }
    upload_cpu="ingest $(us 0) us, storage $(us 1) us, processing (checks) $(us 2) us, RabbitMQ $(us 3) us, Redis $(us 4) us"
  fi
  # The files stay until the end (100 KiB x ~10,000 a round): deleting thousands between
  # rounds made ext4 skip the recently freed inodes at every create of the next round
  # (find_inode_bit / recently_deleted in a profile), which doubled ingest's CPU per upload.
done
log "invoices: ten concurrent 100 MiB uploads, then a 100 MiB download"
upload_verdict=$(python3 -c "print('PASS' if $best_upload >= 1000 else 'FAIL')")
row "POST /api/sender/invoices req/s, 100 KiB PDF multipart, 32 conns (p99 $upload_p99) vs bare (p99 $bare_p99)" \
  "$best_upload" "$best_bare" "goal >= 1,000/s (20x the seed's 50): $upload_verdict"

rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$big_ingest/status")
( peak=0; while kill -0 "$big_ingest" 2>/dev/null; do r=$(awk '/VmRSS/ {print $2}' "/proc/$big_ingest/status"); [ "$r" -gt "$peak" ] && peak=$r; echo "$peak" > "$RUN_DIR/bench-rss"; sleep 0.05; done ) & sampler=$!
upload_started=$(date +%s.%N)
uploads=()
for i in $(seq 10); do
  curl -s -o "$RUN_DIR/bench-upload-$i.json" -H "Authorization: sender 77" -F receiver_id=78 -F "file=@$big;type=application/pdf" \
    http://127.0.0.1:18687/api/sender/invoices & uploads+=($!)
done
wait "${uploads[@]}"
for i in $(seq 10); do grep -q '"status":"received"' "$RUN_DIR/bench-upload-$i.json" || die "upload $i failed: $(head -c 300 "$RUN_DIR/bench-upload-$i.json")"; done
upload_seconds=$(python3 -c "import time; print(f'{time.time() - $upload_started:.1f}')")
sleep 0.2; kill "$sampler" 2>/dev/null || true
rss_peak=$(cat "$RUN_DIR/bench-rss")
rss_growth_mb=$(( (rss_peak - rss_before) / 1024 ))
rss_verdict=$([ "$rss_growth_mb" -lt 32 ] && echo PASS || echo FAIL)
invoice_id=$(python3 -c "import json,sys; print(json.load(open('$RUN_DIR/bench-upload-1.json'))['data']['id'])")
for _ in $(seq 600); do
  status=$(curl -s -H "Authorization: consumer 78" "http://127.0.0.1:18687/api/consumer/invoices/$invoice_id" | python3 -c "import json,sys; print((json.load(sys.stdin).get('data') or {}).get('status'))")
  [ "$status" = available ] && break; sleep 0.5
done
[ "$status" = available ] || die "the 100 MiB invoice stayed $status"
download_mbs() { python3 -c "import sys; print(f'{104857600 / float(sys.argv[1]) / 1048576:.0f}')" "$1"; }
best_download=0; best_read=0
for _ in 1 2 3; do
  t=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: consumer 78" "http://127.0.0.1:18687/api/consumer/invoices/$invoice_id/file")
  d=$(download_mbs "$t"); [ "$d" -gt "$best_download" ] && best_download=$d
  started=$(date +%s.%N); cat "$blob_folder/invoices/${invoice_id:0:2}/$invoice_id" > /dev/null
  r=$(download_mbs "$(python3 -c "import time; print(time.time() - $started)")"); [ "$r" -gt "$best_read" ] && best_read=$r
done
row "GET .../invoices/:id/file MiB/s, a 100 MiB PDF, vs reading its blob file (cat)" "$best_download" "$best_read"
invoice_notes=(
  "CPU per 100 KiB multipart upload (best round): $upload_cpu"
  "ten concurrent 100 MiB multipart uploads in ${upload_seconds}s: ingest's RSS $((rss_before / 1024)) MiB before, peak $((rss_peak / 1024)) MiB (+${rss_growth_mb} MiB); goal < 32 MiB more: $rss_verdict"
)
rm -f "$big" "$RUN_DIR"/bench-upload-*.json "$RUN_DIR/bench-rss"; rm -rf "$blob_folder"
