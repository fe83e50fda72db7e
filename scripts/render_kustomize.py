#!/usr/bin/env python3
"""Renders a kustomization folder the way `kustomize build` does, for the subset k8s/ uses.

Debian has no kustomize package and this machine no kubectl, so CI renders the overlays with
this and validates the result (scripts/validate_k8s.py). Supported: `resources` (files and
folders holding a kustomization.yaml, recursively), `namespace`, `images` (newName, newTag,
digest), `labels` (pairs, includeSelectors, includeTemplates), `commonLabels`, and `patches` /
`patchesStrategicMerge` given as files holding strategic merge patches. Anything else in a
kustomization is refused rather than ignored, so a feature this does not implement cannot
silently render differently from kustomize.

Usage: render_kustomize.py <folder>   (prints the rendered objects as YAML documents)
"""
import copy
import os
import sys

import yaml

SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "namespace", "images", "labels",
                  "commonLabels", "patches", "patchesStrategicMerge"}

# Kinds without a namespace among those Switchyard's manifests could hold.
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass"}

# Strategic merge: the lists Kubernetes merges element by element, and the key that pairs them
# (from the API's x-kubernetes-patch-merge-key). Every other list is replaced by the patch's.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "volumes": "name", "env": "name",
              "volumeMounts": "mountPath", "ports": "containerPort", "envFrom": None,
              "imagePullSecrets": "name", "tolerations": None}

# Workload kinds whose pod template labels and selectors the label transformers reach.
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


class RenderError(Exception):
    pass


class PlainDumper(yaml.SafeDumper):
    """Writes a shared value out in full each time: no YAML anchors in the rendered output."""
    def ignore_aliases(self, data):
        return True


def load_documents(path):
    with open(path) as handle:
        documents = [d for d in yaml.safe_load_all(handle) if d is not None]
    for document in documents:
        if not isinstance(document, dict) or "kind" not in document or "apiVersion" not in document:
            raise RenderError(f"{path}: every document needs apiVersion and kind")
    return documents


def resource_id(obj):
    group = obj["apiVersion"].rsplit("/", 1)[0] if "/" in obj["apiVersion"] else ""
    return (group, obj["kind"], obj.get("metadata", {}).get("name"))


def strategic_merge(base, patch, key=None):
    """Merges `patch` into `base` (both parsed YAML); returns the result, `base` untouched."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(base)
        for name, value in patch.items():
            if value is None:
                merged.pop(name, None)  # `key: null` deletes, as in a merge patch
            elif name in merged:
                merged[name] = strategic_merge(merged[name], value, name)
            else:
                merged[name] = copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and MERGE_KEYS.get(key):
        merge_key = MERGE_KEYS[key]
        merged = copy.deepcopy(base)
        for item in patch:
            if not isinstance(item, dict) or merge_key not in item:
                raise RenderError(f"a patch's `{key}` element lacks its merge key `{merge_key}`")
            match = next((i for i, b in enumerate(merged) if isinstance(b, dict) and b.get(merge_key) == item[merge_key]), None)
            if match is None:
                merged.append(copy.deepcopy(item))
            else:
                merged[match] = strategic_merge(merged[match], item, None)
        return merged
    return copy.deepcopy(patch)


def pod_specs(obj):
    """The pod specs inside a workload object (a CronJob's job template's included)."""
    spec = obj.get("spec", {})
    if obj["kind"] in POD_TEMPLATE_KINDS:
        yield spec.get("template", {})
    elif obj["kind"] == "CronJob":
        yield spec.get("jobTemplate", {}).get("spec", {}).get("template", {})


def apply_images(objects, images):
    for image in images:
        unknown = set(image) - {"name", "newName", "newTag", "digest"}
        if unknown:
            raise RenderError(f"images: unsupported fields {sorted(unknown)}")
        for obj in objects:
            for template in pod_specs(obj):
                pod = template.get("spec", {})
                for container in pod.get("containers", []) + pod.get("initContainers", []):
                    current = container.get("image", "")
                    name = current.split("@")[0]
                    tag = None
                    if ":" in name.rsplit("/", 1)[-1]:
                        name, tag = name.rsplit(":", 1)
                    if name != image["name"]:
                        continue
                    new = image.get("newName", name)
                    if "digest" in image:
                        new += "@" + image["digest"]
                    elif "newTag" in image:
                        new += ":" + str(image["newTag"])
                    elif tag:
                        new += ":" + tag
                    container["image"] = new


def apply_labels(objects, pairs, selectors, templates):
    for obj in objects:
        obj.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        if templates or selectors:
            for template in pod_specs(obj):
                template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        if selectors:
            spec = obj.get("spec", {})
            if obj["kind"] == "Service":
                spec.setdefault("selector", {}).update(pairs)
            elif obj["kind"] in POD_TEMPLATE_KINDS - {"Job"} or obj["kind"] == "PodDisruptionBudget":
                spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(pairs)


def render(folder):
    path = os.path.join(folder, "kustomization.yaml")
    if not os.path.isfile(path):
        raise RenderError(f"{folder}: no kustomization.yaml")
    with open(path) as handle:
        kustomization = yaml.safe_load(handle) or {}
    unknown = set(kustomization) - SUPPORTED_KEYS
    if unknown:
        raise RenderError(f"{path}: unsupported fields {sorted(unknown)} (scripts/render_kustomize.py)")

    objects = []
    for resource in kustomization.get("resources", []):
        target = os.path.normpath(os.path.join(folder, resource))
        objects.extend(render(target) if os.path.isdir(target) else load_documents(target))
    seen = set()
    for obj in objects:
        if resource_id(obj) in seen:
            raise RenderError(f"{path}: {resource_id(obj)} appears twice")
        seen.add(resource_id(obj))

    patch_files = list(kustomization.get("patchesStrategicMerge", []))
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise RenderError(f"{path}: only `patches: - path: file` (strategic merge) is supported")
        patch_files.append(patch["path"])
    for patch_file in patch_files:
        for patch in load_documents(os.path.join(folder, patch_file)):
            index = next((i for i, o in enumerate(objects) if resource_id(o) == resource_id(patch)), None)
            if index is None:
                raise RenderError(f"{patch_file}: the patch's target {resource_id(patch)} is not among the resources")
            objects[index] = strategic_merge(objects[index], patch)

    if "namespace" in kustomization:
        namespace = kustomization["namespace"]
        for obj in objects:
            if obj["kind"] == "Namespace":
                obj["metadata"]["name"] = namespace
            elif obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = namespace
    apply_images(objects, kustomization.get("images", []))
    if "commonLabels" in kustomization:
        apply_labels(objects, kustomization["commonLabels"], selectors=True, templates=True)
    for entry in kustomization.get("labels", []):
        unknown = set(entry) - {"pairs", "includeSelectors", "includeTemplates"}
        if unknown:
            raise RenderError(f"{path}: labels: unsupported fields {sorted(unknown)}")
        apply_labels(objects, entry["pairs"], entry.get("includeSelectors", False), entry.get("includeTemplates", False))
    return objects


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    try:
        objects = render(sys.argv[1])
    except (RenderError, OSError, yaml.YAMLError) as error:
        sys.exit(f"render_kustomize: {error}")
    yaml.dump_all(objects, sys.stdout, Dumper=PlainDumper, sort_keys=False)


if __name__ == "__main__":
    main()
