#!/usr/bin/env python3
"""Validates every Kubernetes object in the given manifests; any object it cannot check fails.

Each argument is a YAML file or a kustomization folder (rendered by render_kustomize.py, as
`kustomize build` would). Kubernetes' own kinds are checked by kubernetes-validate in strict mode
(unknown fields refused); the operators' kinds by check-jsonschema against the CRD schemas
vendored in k8s/schemas (see its README). A kind with neither is an error, never "skipped".

Usage: validate_k8s.py <file-or-kustomization-folder>...
"""
import json
import os
import subprocess
import sys
import tempfile

import kubernetes_validate
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from render_kustomize import RenderError, load_documents, render  # noqa: E402

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8s", "schemas")

# apiVersion and kind of each operator's object -> its vendored schema.
CUSTOM_KINDS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh/scaledobject_v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda.sh/triggerauthentication_v1alpha1.json",
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): "rabbitmq.com/rabbitmqcluster_v1beta1.json",
    ("postgresql.cnpg.io/v1", "Cluster"): "postgresql.cnpg.io/cluster_v1.json",
}

# The Kubernetes version the built-in kinds are checked against (kubernetes-validate's schemas).
KUBERNETES_VERSION = "1.33.0"


def objects_of(argument):
    if os.path.isdir(argument):
        return [(f"{argument} (rendered)", obj) for obj in render(argument)]
    return [(argument, obj) for obj in load_documents(argument)]


def describe(source, obj):
    return f"{source}: {obj.get('kind')} {obj.get('metadata', {}).get('name')}"


def main(arguments):
    if not arguments:
        sys.exit(__doc__.strip().splitlines()[-1])
    failures = []
    custom = {}  # schema file -> [(description, object)]
    checked = 0
    for argument in arguments:
        try:
            objects = objects_of(argument)
        except (RenderError, OSError, yaml.YAMLError) as error:
            failures.append(f"{argument}: {error}")
            continue
        for source, obj in objects:
            key = (obj["apiVersion"], obj["kind"])
            if key in CUSTOM_KINDS:
                custom.setdefault(CUSTOM_KINDS[key], []).append((describe(source, obj), obj))
                continue
            try:
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
                checked += 1
            except kubernetes_validate.SchemaNotFoundError:
                failures.append(f"{describe(source, obj)}: no schema for {key[0]} {key[1]} "
                                "(add the operator's CRD schema to k8s/schemas and CUSTOM_KINDS)")
            except kubernetes_validate.ValidationError as error:
                failures.append(f"{describe(source, obj)}: {error.message} at {'.'.join(str(p) for p in error.path)}")
            except kubernetes_validate.InvalidSchemaError as error:
                failures.append(f"{describe(source, obj)}: {error}")

    with tempfile.TemporaryDirectory() as folder:
        for schema, entries in sorted(custom.items()):
            files = []
            for index, (description, obj) in enumerate(entries):
                path = os.path.join(folder, f"{os.path.basename(schema)}-{index}.json")
                with open(path, "w") as handle:
                    json.dump(obj, handle)
                files.append(path)
            result = subprocess.run(["check-jsonschema", "--schemafile", os.path.join(SCHEMAS, schema), *files],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                names = "; ".join(f"{os.path.basename(f)} = {d}" for f, (d, _) in zip(files, entries))
                failures.append(f"{schema} refused: {result.stdout.strip()} {result.stderr.strip()} ({names})")
            else:
                checked += len(files)

    for failure in failures:
        print(f"invalid: {failure}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"validate_k8s: {checked} objects valid, none skipped")


if __name__ == "__main__":
    main(sys.argv[1:])
