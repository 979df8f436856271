"""Checks one `helm template` rendering of the chart (scripts/check-chart runs it per values file).

1. Every object validates strictly (unknown fields rejected): Kubernetes' own kinds against
   kubernetes-validate's schemas for KUBERNETES_VERSION, KEDA's against the CRDs pinned in
   ci/keda/. A kind with no schema is an error, not a warning.
2. Hook ordering: whatever the pre-install migration Job reads (ServiceAccount, ConfigMaps,
   Secrets) is either created by an earlier hook of the same phases or is the operator's own
   Secret; a pre-install hook that needed a release object would wait for it forever.
3. With database.appRoleOnly, only the migration Job can read the owner's `databaseUrl`.

Usage: check_rendered.py RENDERED.yaml EXISTING_SECRET APP_ROLE_ONLY(true|false)
Prints one line per finding and exits 1 if there is any.
"""

import copy
import pathlib
import sys

import jsonschema
import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.33"
KEDA_CRDS = pathlib.Path(__file__).parent / "keda"


def strict(schema):
    """The CRD schema with unknown fields rejected wherever it lists properties, as a server
    with strict field validation does (x-kubernetes-preserve-unknown-fields keeps them open)."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def crd_schemas():
    schemas = {}
    for path in sorted(KEDA_CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = strict(version["schema"]["openAPIV3Schema"])
            # The API server supplies metadata's schema; check its shape loosely.
            schema["properties"]["metadata"] = {"type": "object"}
            schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def validate(doc, crds, findings):
    name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key in crds:
        errors = sorted(jsonschema.Draft7Validator(crds[key]).iter_errors(doc), key=str)
        for error in errors:
            path = ".".join(str(p) for p in error.absolute_path)
            findings.append(f"{name}: {path}: {error.message}")
        return
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(p) for p in error.path)
        findings.append(f"{name}: {path}: {error.message}")
    except kubernetes_validate.SchemaNotFoundError:
        findings.append(f"{name}: no schema for {key[0]} {key[1]} (unknown kind or API version)")


def hook_of(doc):
    annotations = doc.get("metadata", {}).get("annotations") or {}
    if "helm.sh/hook" not in annotations:
        return None
    phases = frozenset(annotations["helm.sh/hook"].split(","))
    return phases, int(annotations.get("helm.sh/hook-weight", "0"))


def pod_spec(doc):
    kind = doc.get("kind")
    if kind == "Pod":
        return doc["spec"]
    if kind in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        return doc["spec"]["template"]["spec"]
    return None


def references(spec):
    """(kind, name, key) of what a pod spec reads."""
    found = {("ServiceAccount", spec.get("serviceAccountName", "default"), None)}
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                found.add(("ConfigMap", source["configMapRef"]["name"], None))
            if "secretRef" in source:
                found.add(("Secret", source["secretRef"]["name"], None))
        for env in container.get("env", []):
            ref = env.get("valueFrom", {})
            if "secretKeyRef" in ref:
                found.add(("Secret", ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]))
            if "configMapKeyRef" in ref:
                found.add(("ConfigMap", ref["configMapKeyRef"]["name"], None))
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            found.add(("Secret", volume["secret"]["secretName"], None))
        if "configMap" in volume:
            found.add(("ConfigMap", volume["configMap"]["name"], None))
    return found


def check_hooks(docs, existing_secret, findings):
    objects = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    for doc in docs:
        hook = hook_of(doc)
        spec = pod_spec(doc)
        if hook is None or spec is None or "test" in hook[0]:
            continue
        phases, weight = hook
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        for kind, ref, _ in sorted(references(spec), key=str):
            if kind == "Secret" and ref == existing_secret:
                continue
            target = objects.get((kind, ref))
            if target is None:
                findings.append(f"{name} (hook {','.join(sorted(phases))}) reads {kind}/{ref}, which the chart does not make")
                continue
            target_hook = hook_of(target)
            if target_hook is None:
                findings.append(
                    f"{name} (hook) reads {kind}/{ref}, a release object that does not exist yet when pre-install hooks run"
                )
            elif not phases <= target_hook[0] or target_hook[1] >= weight:
                findings.append(f"{name} reads {kind}/{ref}, a hook that is not created before it (phases or weight)")


def check_owner_url(docs, app_role_only, findings):
    if not app_role_only:
        return
    for doc in docs:
        spec = pod_spec(doc)
        if doc["kind"] == "Secret" and hook_of(doc) is None and "databaseUrl" in (doc.get("data") or {}):
            findings.append(f"Secret/{doc['metadata']['name']} holds databaseUrl though database.appRoleOnly is set")
        if spec is None or (doc["kind"] == "Job" and hook_of(doc)):
            continue
        for kind, ref, key in references(spec):
            if kind == "Secret" and key == "databaseUrl":
                found = f"{doc['kind']}/{doc['metadata']['name']}"
                findings.append(f"{found} reads the owner's databaseUrl though database.appRoleOnly is set")


def main():
    rendered, existing_secret, app_role_only = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
    docs = [d for d in yaml.safe_load_all(pathlib.Path(rendered).read_text()) if d]
    findings = []
    crds = crd_schemas()
    for doc in docs:
        validate(doc, crds, findings)
    check_hooks(docs, existing_secret, findings)
    check_owner_url(docs, app_role_only, findings)
    kinds = sorted({d["kind"] for d in docs})
    for finding in findings:
        print(f"  {finding}")
    print(f"  {len(docs)} objects ({', '.join(kinds)}): {len(findings)} finding(s)")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
