#!/usr/bin/env bash
# make test-py314: the Lambda code's tests (unit, functional, and the end-to-end tier that runs
# the synthesized asset) on CPython 3.14, the python3.14 runtime the function is deployed on.
#
# CPython 3.14 comes from Debian unstable, in a debootstrap chroot kept in .build/py314 and
# reused by name (built once, a few minutes; later runs only enter it). Entering it uses a
# private mount namespace (unshare --mount): every mount lives as long as this command and
# nothing is mounted on the host afterwards. Needs root (debootstrap, chroot, mount); CI runs
# as root. The project folder is mounted read-only inside: the run changes nothing in it.
#
# The host synthesizes the apps first (jsii needs Node, which the chroot lacks): the 3.14 run
# deploys the asset the host built, as a pipeline deploys what it synthesized.
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT=$PWD
HOST_PY=${HOST_PY:-$PROJECT/.venv/bin/python}
BUILD=$PROJECT/.build/py314
ROOTFS=$BUILD/rootfs
VENV=/opt/py314-venv
REQUIREMENTS=.ci/py314-requirements.txt
TESTS=.ci/py314-tests.txt
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

if [ "$(id -u)" != 0 ]; then
    echo "make test-py314 needs root (debootstrap, chroot, mounts); run it as root or with sudo" >&2
    exit 2
fi
started=$(date +%s)

# Run a command inside the chroot, in a mount namespace of its own (and a PID namespace, so no
# process it starts outlives it). Extra bind mounts: "host_path:chroot_path" words in BINDS.
in_chroot() {
    unshare --mount --pid --fork --propagation private /bin/bash -euo pipefail -c '
        rootfs=$1; shift
        mount -t proc proc "$rootfs/proc"
        mount --rbind /dev "$rootfs/dev"
        mount -t tmpfs -o mode=1777 tmpfs "$rootfs/tmp"
        touch "$rootfs/etc/resolv.conf"
        mount --bind /etc/resolv.conf "$rootfs/etc/resolv.conf"
        for pair in ${BINDS:-}; do
            src=${pair%%:*}; dst=$rootfs${pair#*:}
            if [ -d "$src" ]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")"; touch "$dst"; fi
            mount --bind "$src" "$dst"
        done
        for dst in ${READONLY:-}; do mount -o remount,bind,ro "$rootfs$dst"; done
        for dst in ${SCRATCH:-}; do mount -t tmpfs tmpfs "$rootfs$dst"; done
        exec chroot "$rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root \
            LANG=C.UTF-8 "$@"
    ' in_chroot "$ROOTFS" "$@"
}

# 1. The chroot: Debian sid with python3.14, built under a temporary name and renamed when
#    complete, so an interrupted build is never mistaken for a finished one.
if [ ! -x "$ROOTFS/usr/bin/python3.14" ]; then
    if ! command -v debootstrap >/dev/null; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap
    fi
    # The mirror this machine's own apt uses (deb822 sources), else Debian's redirector.
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    partial=$BUILD/rootfs.partial
    mkdir -p "$BUILD"
    if [ ! -f "$partial/.debootstrap-complete" ]; then
        rm -rf "$partial"
        echo "py314: debootstrap --variant=minbase sid from $mirror"
        debootstrap --variant=minbase sid "$partial" "$mirror"
        touch "$partial/.debootstrap-complete"
    fi
    # Check-Valid-Until off: a mirror that serves a dated snapshot of sid has a Release file
    # whose validity has lapsed; debootstrap has already checked its signature.
    ROOTFS=$partial in_chroot /bin/sh -c 'apt-get -o Acquire::Check-Valid-Until=false update &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            python3.14 python3.14-venv && apt-get clean'
    rm "$partial/.debootstrap-complete"
    mv "$partial" "$ROOTFS"
fi

# 2. The venv, rebuilt when the requirements change (its stamp is their hash).
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ "$(cat "$ROOTFS$VENV/.requirements-sha256" 2>/dev/null || true)" != "$want" ]; then
    rm -rf "${ROOTFS:?}$VENV"
    binds="$PROJECT/$REQUIREMENTS:/tmp/requirements.txt"
    pip_cert=()
    # This machine's trust store, for pip's HTTPS (a build host may add its own CA to it).
    if [ -f "$CA_BUNDLE" ]; then binds="$binds $CA_BUNDLE:/etc/host-ca.crt"; pip_cert=(PIP_CERT=/etc/host-ca.crt); fi
    BINDS=$binds in_chroot "${pip_cert[@]}" PIP_DISABLE_PIP_VERSION_CHECK=1 /bin/sh -c "
        python3.14 -m venv $VENV &&
        $VENV/bin/python -m pip install --quiet -r /tmp/requirements.txt &&
        echo $want > $VENV/.requirements-sha256"
fi
echo "py314: $(in_chroot $VENV/bin/python -c 'import sys, boto3, botocore; print(sys.version.split()[0], "boto3", boto3.__version__, "botocore", botocore.__version__)')"
prepared=$(date +%s)

# 3. The apps the end-to-end tier deploys, synthesized on the host (reused folder, rebuilt
#    every run: the app may have changed). BUILD_UMASK: as a locked-down build host would.
assemblies=$BUILD/assemblies
rm -rf "$assemblies"
mkdir -p "$assemblies"
"$HOST_PY" - "$PROJECT" "$assemblies" <<'EOF'
import sys
from pathlib import Path

from localcloud.cdk_app import synthesize
from localcloud.fault_matrix import BUILD_UMASK

project, out = Path(sys.argv[1]), Path(sys.argv[2])
for app in (project / "app.py", project / "examples" / "tags_and_tenants_app.py"):
    synthesize(app, out / app.stem, umask=BUILD_UMASK)
EOF
synthesized=$(date +%s)

# 4. The tests. Warnings: a ResourceWarning anywhere is an error (a leaked socket or file), and
#    so is a DeprecationWarning raised from the product's own modules (pytest's ini form of a
#    filter takes the module as a regex matched at the start of the name, so submodules count).
#    PytestUnraisableExceptionWarning: a ResourceWarning raised in a finalizer reaches pytest
#    that way, and must fail the run too.
mapfile -t files < <(grep -v '^\s*#' "$TESTS" | grep -v '^\s*$')
filters='error::ResourceWarning
error::pytest.PytestUnraisableExceptionWarning
error::DeprecationWarning:cloudfront_purge
error::DeprecationWarning:localcloud'
set +e
# /src/.build is scratch space inside (the local Lambda builds its runtime dir there, from
# the 3.14 venv's packages): a tmpfs over the read-only project, gone with the run.
BINDS="$PROJECT:/src $assemblies:/assemblies" READONLY="/src /assemblies" SCRATCH=/src/.build \
    in_chroot PYTHONDONTWRITEBYTECODE=1 CFP_PREBUILT_ASSEMBLIES=/assemblies PYTHONPATH=/src/lambda \
    HYPOTHESIS_STORAGE_DIRECTORY=/tmp/hypothesis \
    /bin/sh -c 'cd /src && exec "$0" "$@"' $VENV/bin/python -m pytest -p no:cacheprovider \
    -o "filterwarnings=$filters" -n 2 -q "${files[@]}" "$@"
code=$?
set -e
rm -rf "$assemblies"
finished=$(date +%s)
echo "py314: prepare $((prepared - started)) s, synth $((synthesized - prepared)) s," \
    "tests $((finished - synthesized)) s, total $((finished - started)) s (exit $code)"
exit $code
