#!/usr/bin/env bash
# Validates docker-compose.yml, k8s/ and openapi.yaml against their published schemas (both vendored in the
# PyPI packages, so this runs offline): no Docker engine or cluster is needed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SWITCHYARD_ROOT"
python3 -c 'import check_jsonschema, kubernetes_validate' 2>/dev/null ||
  python3 -m pip install -q check-jsonschema kubernetes-validate
check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
# KEDA objects are CRDs with no published schema here: they are reported as skipped, not failed.
kubernetes-validate --strict --quiet k8s/*.yaml
python3 -c 'import sys, yaml; from openapi_spec_validator import validate; validate(yaml.safe_load(open("openapi.yaml")))' ||
  { python3 -m pip install -q openapi-spec-validator pyyaml && python3 -c 'import yaml; from openapi_spec_validator import validate; validate(yaml.safe_load(open("openapi.yaml")))'; }
log "docker-compose.yml, k8s/ and openapi.yaml are valid"
