#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build, run and test Switchyard.
# Idempotent: it asks apt only for packages that are missing, and runs `apt-get update` once.
set -euo pipefail
source "$(dirname "$0")/env.sh"

packages=(rabbitmq-server redis-server redis-tools librabbitmq-dev libhiredis-dev libpq-dev libcurl4-openssl-dev
          libqpdf-dev libspng-dev postgresql-15 postgresql-client-15 wrk)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}): run as root so apt-get can install them"
  log "installing ${missing[*]}"
  # The packages' own init scripts would start system-wide servers; we run our own on loopback.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi
# The local SMTP sink (scripts/mail_sink.py) for the run and the mail tests: a maintained SMTP
# server, so the tests check the client against real protocol handling, not our own.
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  log "installing aiosmtpd from PyPI"
  python3 -m pip install -q aiosmtpd >/dev/null 2>&1 || die "pip install aiosmtpd failed: the SMTP sink needs it"
fi
# Schema validators for docker-compose.yml, k8s/ and openapi.yaml (used by `make lint`, so CI).
if ! python3 -c 'import check_jsonschema, kubernetes_validate, openapi_spec_validator, yaml' 2>/dev/null; then
  log "installing check-jsonschema, kubernetes-validate and openapi-spec-validator from PyPI"
  python3 -m pip install -q 'check-jsonschema==0.39.0' 'kubernetes-validate==1.37.0' 'openapi-spec-validator==0.9.0' pyyaml \
    >/dev/null 2>&1 || die "pip install of the schema validators failed: 'make lint' needs them"
fi
# schemathesis, which checks the running API against openapi.yaml (scripts/schemathesis.sh, run
# by `make test`); pinned, since its checks and defaults change between versions.
if ! python3 -c 'import schemathesis' 2>/dev/null; then
  log "installing schemathesis from PyPI"
  python3 -m pip install -q 'schemathesis==4.32.5' >/dev/null 2>&1 || die "pip install schemathesis failed: make test needs it"
fi
# moto's server mode: the S3 API server the S3 blob driver is tested against (servers.sh).
if ! python3 -c 'import moto.server, flask, flask_cors' 2>/dev/null; then
  log "installing moto[server] from PyPI"
  python3 -m pip install -q 'moto[server]' >/dev/null 2>&1 || die "pip install 'moto[server]' failed: the S3 blob store tests need it"
fi
# matplotlib, for the latency plot of `make bench` only (`install-deps.sh bench`): the rest of
# the project does not need it, and it is large.
if [ "${1:-}" = bench ] && ! python3 -c 'import matplotlib' 2>/dev/null; then
  log "installing matplotlib from PyPI"
  python3 -m pip install -q matplotlib >/dev/null 2>&1 || die "pip install matplotlib failed: make bench draws its plot with it"
fi
