#!/usr/bin/python3
"""The pod a rendered bench-gate Job would start, as a `kind: Pod` manifest for `podman kube play`.

    scripts/job-to-pod.py JOB.yaml --name NAME [--break WHAT] > POD.yaml

Reads the output of `bench-gate k8s render` (a multi-document YAML stream holding one Job) and
prints the Job's pod template unchanged, except for what podman 4.3 cannot express. Every
replacement is listed here, with why:

1. The Job itself becomes a Pod: `podman kube play` runs Pods and Deployments, not Jobs. The
   template's `metadata.labels` and `spec` are copied as they are. The Job-level fields have no
   pod equivalent and are left out: `backoffLimit: 0` (the pod's own `restartPolicy: Never`
   already means one attempt), `activeDeadlineSeconds` (scripts/check-pod.sh bounds the wait
   itself) and `ttlSecondsAfterFinished` (the check removes the pod itself).
2. `metadata.name`: the Job controller names its pod `<job name>-<random suffix>`; here it is
   NAME, so that two pods of one check do not collide.
3. `emptyDir` volume names get the prefix `NAME-`: podman 4.3 turns an emptyDir into a volume
   called after the volume (`tmp`), which every pod running at the same time with a volume of
   that name shares (a second pod saw the first one's files). Kubernetes gives each pod a
   fresh, private one. The mounts that use them are renamed alike; paths, sizes and everything
   else stay.

Nothing else changes: image, args, env, resources, securityContext (pod and container),
volumeMounts' paths, restartPolicy, nodeSelector, serviceAccountName. Fields podman ignores
(nodeSelector, tolerations, serviceAccountName, seccompProfile, sizeLimit, ...) are kept, so the
manifest stays the one Kubernetes would get; README.md lists what podman honours.

--break WHAT damages the rendered pod on purpose, for the check's negative self-test (the
check must then fail, naming what broke):
    result-on-root   the benchmark also writes its result to /bench/result.json, which the
                     read-only root filesystem forbids
    root-user        runAsUser 0 and runAsNonRoot false (podman 4.3 does not enforce
                     runAsNonRoot: only the check's own assertion can catch this)
    no-cpu-limit     the CPU limit and request removed (the rendered CPU limit is not seen)
"""

import argparse
import sys

import yaml


def break_pod(spec, what):
    """Damages one field of the pod spec, as a broken `k8s render` would."""
    container = spec["containers"][0]
    if what == "result-on-root":
        container["args"] = container["args"] + ["-o", "/bench/result.json"]
    elif what == "root-user":
        for ctx in (spec["securityContext"], container["securityContext"]):
            ctx["runAsUser"] = 0
            ctx["runAsGroup"] = 0
            ctx["runAsNonRoot"] = False
    elif what == "no-cpu-limit":
        for key in ("limits", "requests"):
            container["resources"][key].pop("cpu", None)
    else:
        sys.exit(f"job-to-pod: unknown --break {what} (see --help)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("job", help="the output of `bench-gate k8s render`")
    ap.add_argument("--name", required=True, help="the pod's name (a DNS-1123 label)")
    ap.add_argument("--break", dest="damage", help="damage one field on purpose (see above)")
    a = ap.parse_args()

    with open(a.job, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    jobs = [d for d in docs if d.get("kind") == "Job"]
    if len(jobs) != 1:
        sys.exit(f"job-to-pod: {a.job} holds {len(jobs)} Jobs, expected exactly one")
    template = jobs[0]["spec"]["template"]
    spec = template["spec"]

    # 3. emptyDir volumes: one private volume per pod, as in Kubernetes.
    renamed = {}
    for volume in spec.get("volumes", []):
        if "emptyDir" in volume:
            renamed[volume["name"]] = f"{a.name}-{volume['name']}"
            volume["name"] = renamed[volume["name"]]
    for container in spec["containers"]:
        for mount in container.get("volumeMounts", []):
            mount["name"] = renamed.get(mount["name"], mount["name"])

    if a.damage:
        break_pod(spec, a.damage)

    # 1. and 2.: the pod template as a Pod named NAME.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": a.name, "labels": template.get("metadata", {}).get("labels", {})},
        "spec": spec,
    }
    yaml.safe_dump(pod, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
