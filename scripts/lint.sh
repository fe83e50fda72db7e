#!/usr/bin/env bash
# Validates docker-compose.yml, the Kubernetes manifests and openapi.yaml against their published
# schemas, offline (the schemas are vendored in the PyPI packages and k8s/schemas): no Docker
# engine or cluster is needed. Run by `make lint` and CI (.ci/run); any failure fails the run.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SWITCHYARD_ROOT"
python3 -c 'import check_jsonschema, kubernetes_validate, openapi_spec_validator, yaml' 2>/dev/null ||
  bash scripts/install-deps.sh
check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

# Kubernetes: the base and each overlay rendered as `kustomize build` would (scripts/render_kustomize.py),
# every object checked, Kubernetes' kinds strictly, the operators' kinds against their CRD schemas;
# an object of a kind with no schema fails (scripts/validate_k8s.py).
python3 scripts/test_render_kustomize.py 2>&1 | tail -1
python3 scripts/validate_k8s.py k8s/base k8s/overlays/local k8s/overlays/production
# ... and the validation can fail: each broken manifest kept for the purpose must be refused.
for broken in Tests/Fixtures/k8s-invalid/*.yaml Tests/Fixtures/k8s-invalid/*/; do
  if python3 scripts/validate_k8s.py "$broken" >/dev/null 2>&1; then
    die "scripts/validate_k8s.py accepted $broken, which is broken on purpose"
  fi
done

python3 -c 'import yaml; from openapi_spec_validator import validate; validate(yaml.safe_load(open("openapi.yaml")))'

# The Dockerfile's runtime stage installs every shared library the built executables load (built
# by `make test` or `make build`; built here when missing). And the check can fail:
# the same Dockerfile without libspng0 must be refused.
bin_dir="${SWITCHYARD_BIN_DIR:-$(swift build --show-bin-path)}"
for executable in ingest storage processing notification switchyard; do
  [ -x "$bin_dir/$executable" ] || { log "building the executables for the library check"; swift build; break; }
done
python3 scripts/check_dockerfile_libraries.py "$bin_dir"
broken_dockerfile="$(mktemp)"
trap 'rm -f "$broken_dockerfile"' EXIT
sed 's/ libspng0 / /' Dockerfile > "$broken_dockerfile"
if python3 scripts/check_dockerfile_libraries.py --dockerfile "$broken_dockerfile" "$bin_dir" >/dev/null 2>&1; then
  die "check_dockerfile_libraries.py accepted a Dockerfile without libspng0"
fi
log "docker-compose.yml, k8s/ (base, overlays), openapi.yaml and the Dockerfile's libraries are valid"
