#!/usr/bin/env python3
"""Checks scripts/render_kustomize.py renders what kustomize would for the overlays' features:
patches merged into the base (containers by name, other fields kept), images rewritten in
containers and initContainers, the namespace set (the Namespace object renamed), labels added
to objects and pod templates but not selectors. Run by scripts/lint.sh."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from render_kustomize import RenderError, render, strategic_merge  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def by_kind_and_name(objects):
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


class RenderKustomizeTests(unittest.TestCase):
    def test_local_overlay(self):
        objects = by_kind_and_name(render(os.path.join(ROOT, "k8s/overlays/local")))
        ingest = objects[("Deployment", "switchyard-ingest")]
        pod = ingest["spec"]["template"]["spec"]
        self.assertEqual(ingest["metadata"]["namespace"], "switchyard-local")
        self.assertEqual(ingest["spec"]["replicas"], 1)
        self.assertEqual(pod["containers"][0]["image"], "switchyard:local")
        self.assertEqual(pod["initContainers"][0]["image"], "switchyard:local")
        self.assertEqual(pod["containers"][0]["resources"]["limits"]["memory"], "384Mi")
        self.assertIn("readinessProbe", pod["containers"][0])  # the patch kept the base's fields
        self.assertEqual(ingest["spec"]["selector"]["matchLabels"], {"app.kubernetes.io/name": "ingest"})
        self.assertEqual(ingest["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"], "switchyard")
        self.assertIn(("Namespace", "switchyard-local"), objects)
        self.assertEqual(objects[("ConfigMap", "switchyard")]["data"]["AUTH_MODE"], "dev")
        self.assertEqual(objects[("ConfigMap", "switchyard")]["data"]["LOG_LEVEL"], "debug")

    def test_production_overlay(self):
        objects = by_kind_and_name(render(os.path.join(ROOT, "k8s/overlays/production")))
        pod = objects[("Deployment", "switchyard-processing")]["spec"]["template"]["spec"]
        self.assertEqual(pod["containers"][0]["image"], "registry.example.com/switchyard:1.0.0")
        self.assertEqual(objects[("Deployment", "switchyard-processing")]["metadata"]["namespace"], "switchyard")
        self.assertIn(("Ingress", "switchyard-ingest"), objects)

    def test_strategic_merge(self):
        base = {"containers": [{"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}]}, {"name": "b"}],
                "args": ["1", "2"], "drop": True}
        patch = {"containers": [{"name": "a", "env": [{"name": "B", "value": "2"}]}], "args": ["3"], "drop": None}
        merged = strategic_merge(base, patch)
        self.assertEqual(merged["containers"][0], {"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]})
        self.assertEqual(merged["containers"][1], {"name": "b"})
        self.assertEqual(merged["args"], ["3"])  # a list without a merge key is replaced
        self.assertNotIn("drop", merged)

    def test_patch_without_target_is_refused(self):
        with self.assertRaises(RenderError):
            render(os.path.join(ROOT, "Tests/Fixtures/k8s-invalid/overlay-missing-target"))


if __name__ == "__main__":
    unittest.main()
