#!/bin/sh
# Seeds for fuzz-manifest: what registries and `docker save`/skopeo layouts
# hold: OCI and Docker schema 2 manifests, OCI indexes and Docker manifest
# lists (as buildx writes them, with attestation entries), image configs as
# docker and buildah write them, a schema 1 manifest, single descriptors.
# Usage: tests/fuzz/seeds-manifest.sh OUTDIR
set -eu
out=${1:?usage: seeds-manifest.sh OUTDIR}
mkdir -p "$out"
python3 - "$out" <<'PY'
import hashlib, json, os, sys

out = sys.argv[1]
def d(s):
    return "sha256:" + hashlib.sha256(s.encode()).hexdigest()
def seed(name, doc, indent=None):
    text = doc if isinstance(doc, str) else json.dumps(doc, indent=indent)
    with open(os.path.join(out, name), "w") as f:
        f.write(text)

OCI_M = "application/vnd.oci.image.manifest.v1+json"
OCI_I = "application/vnd.oci.image.index.v1+json"
OCI_C = "application/vnd.oci.image.config.v1+json"
OCI_L = "application/vnd.oci.image.layer.v1.tar"
D_M = "application/vnd.docker.distribution.manifest.v2+json"
D_L = "application/vnd.docker.distribution.manifest.list.v2+json"
D_C = "application/vnd.docker.container.image.v1+json"
D_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

layers = [{"mediaType": OCI_L + "+gzip", "digest": d("l1"), "size": 2153},
          {"mediaType": OCI_L + "+zstd", "digest": d("l2"), "size": 100},
          {"mediaType": OCI_L, "digest": d("l3"), "size": 0}]
seed("oci-manifest.json", {"schemaVersion": 2, "mediaType": OCI_M,
     "config": {"mediaType": OCI_C, "digest": d("c"), "size": 581},
     "layers": layers,
     "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}})
seed("oci-manifest-no-type.json", {"schemaVersion": 2,
     "config": {"mediaType": OCI_C, "digest": d("c"), "size": 581}, "layers": layers[:1]}, indent=3)
seed("docker-manifest.json", {"schemaVersion": 2, "mediaType": D_M,
     "config": {"mediaType": D_C, "size": 1457, "digest": d("dc")},
     "layers": [{"mediaType": D_LAYER, "size": 2153, "digest": d("dl")},
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "size": 10, "digest": d("dl2")}]},
     indent=3)
seed("manifest-foreign-layer.json", {"schemaVersion": 2, "mediaType": D_M,
     "config": {"mediaType": D_C, "size": 1, "digest": d("x")},
     "layers": [{"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "size": 1,
                 "digest": d("f"), "urls": ["https://example.com/layer"]}]})
seed("manifest-artifact.json", {"schemaVersion": 2, "mediaType": OCI_M,
     "artifactType": "application/vnd.example+json",
     "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": d("{}"), "size": 2, "data": "e30="},
     "layers": [], "subject": {"mediaType": OCI_M, "digest": d("s"), "size": 7}})

def entry(mt, key, os_, arch, variant=None, extra=None):
    p = {"architecture": arch, "os": os_}
    if variant:
        p["variant"] = variant
    e = {"mediaType": mt, "digest": d(key), "size": 480, "platform": p}
    if extra:
        e.update(extra)
    return e
seed("oci-index.json", {"schemaVersion": 2, "mediaType": OCI_I, "manifests": [
    entry(OCI_M, "amd64", "linux", "amd64"),
    entry(OCI_M, "arm64", "linux", "arm64", "v8"),
    entry(OCI_M, "armv7", "linux", "arm", "v7"),
    entry(OCI_M, "att", "unknown", "unknown", extra={"annotations": {
        "vnd.docker.reference.digest": d("amd64"), "vnd.docker.reference.type": "attestation-manifest"}}),
    {"mediaType": OCI_M, "digest": d("noplat"), "size": 3}]})
seed("oci-index-no-type.json", {"schemaVersion": 2, "manifests": [
    entry(OCI_M, "amd64", "linux", "amd64", extra={"annotations": {"org.opencontainers.image.ref.name": "latest"}})]})
seed("docker-list.json", {"schemaVersion": 2, "mediaType": D_L, "manifests": [
    entry(D_M, "a", "linux", "amd64"), entry(D_M, "b", "linux", "arm64", "v8"),
    entry(D_M, "w", "windows", "amd64", extra={"platform": {"architecture": "amd64", "os": "windows",
        "os.version": "10.0.17763.5329", "os.features": ["win32k"]}})]}, indent=3)
seed("index-nested.json", {"schemaVersion": 2, "mediaType": OCI_I, "manifests": [
    entry(OCI_I, "inner", "linux", "amd64")]})

history = [{"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
           {"created": "2024-01-01T00:00:01Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": True}]
seed("oci-config.json", {"created": "2024-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
     "config": {"User": "1000:1000", "ExposedPorts": {"8080/tcp": {}},
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=1"],
                "Entrypoint": ["/docker-entrypoint.sh"], "Cmd": ["nginx", "-g", "daemon off;"],
                "Volumes": {"/data": {}}, "WorkingDir": "/srv", "Labels": {"maintainer": "x"},
                "StopSignal": "SIGQUIT"},
     "rootfs": {"type": "layers", "diff_ids": [d("u1"), d("u2"), d("u3")]}, "history": history})
seed("docker-config.json", {"architecture": "arm64", "variant": "v8", "os": "linux",
     "config": {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "Tty": False,
                "Env": ["PATH=/bin"], "Cmd": ["sh"], "Image": d("parent"), "Volumes": None,
                "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": None},
     "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) ", "CMD [\"sh\"]"]},
     "created": "2023-05-19T20:19:24.3Z", "docker_version": "20.10.23",
     "rootfs": {"type": "layers", "diff_ids": [d("u1")]}, "history": history}, indent=3)
seed("config-minimal.json", {"rootfs": {"type": "layers", "diff_ids": []}})
# One meaning per document: both an image's fields and an index's, with and
# without a mediaType.  (No seed past CTRK_LAYERS_MAX: 60 kB would raise
# libFuzzer's input size for every run; test-image has that case.)
both = {"schemaVersion": 2, "config": {"mediaType": OCI_C, "digest": d("c"), "size": 581},
        "layers": layers[:1], "manifests": [entry(OCI_M, "amd64", "linux", "amd64")]}
seed("both.json", both)
seed("both-typed.json", dict(both, mediaType=OCI_M))
seed("descriptor.json", {"mediaType": OCI_M, "digest": d("m"), "size": 528,
     "platform": {"os": "linux", "architecture": "amd64"}})
seed("schema1.json", {"schemaVersion": 1, "name": "library/busybox", "tag": "latest", "architecture": "amd64",
     "fsLayers": [{"blobSum": d("l")}], "history": [{"v1Compatibility": "{}"}],
     "signatures": [{"header": {"alg": "ES256"}, "signature": "abc", "protected": "e30"}]}, indent=3)
PY
