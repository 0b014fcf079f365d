"""Provisioning the real node: Debian packages into the cache, the pause image, image builds.

Nothing here installs into the system. The pinned Debian packages (containerd,
runc, the CNI plugins, iptables, buildah, mmdebstrap) are fetched with
`apt-get download NAME=VERSION` (apt checks them against the signed archive
indexes) and unpacked with `dpkg -x` into an artifact directory; kubelet and
kube-proxy are built like the control plane (kube_build.build_node); the pause
image is a static binary built with gcc, packed here as a `docker save` archive.

Images are built with buildah (chroot isolation, its storage in the cache) from
the repository's own Dockerfile. With no registry, the Dockerfile's `FROM` is
given a base image built here: a Debian rootfs from mmdebstrap with Python 3.11
(docs/adr/0018-node-images-without-a-registry.md). The images reach containerd
through one OCI layout that stores each layer once.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import stat
import subprocess
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from devstack.artifacts import run
from devstack.errors import DevstackError

# Debian 12's packages, pinned to the versions its archive serves. A security
# update replaces a version in the archive; `apt-get download` then fails and
# names the package: bump the pin here.
DEBIAN_PACKAGES: dict[str, str] = {
    "containerd": "1.6.20~ds1-1+deb12u3",
    "runc": "1.1.5+ds1-1+deb12u1",
    "containernetworking-plugins": "1.1.1+ds1-3+b5",
    # The CNI plugins (bridge, portmap, firewall) run `iptables` (nf_tables backend).
    "iptables": "1.8.9-2",
    "libnftnl11": "1.2.4-2",
    # `nft delete table`: iptables-nft leaves the tables it created behind.
    "nftables": "1.0.6-2+deb12u2",
    "libnftables1": "1.0.6-2+deb12u2",
    "buildah": "1.28.2+ds1-3+deb12u1+b3",
    "libgpgme11": "1.18.0-3+deb12u1",
    "mmdebstrap": "1.3.5-7",
    # Only to point buildah at the libraries unpacked beside it (RUNPATH).
    "patchelf": "0.14.3-1+b1",
}
# Bump when the unpacking recipe changes.
DEBIAN_RECIPE = 3

# What the base image holds; its suite is the machine's (Debian 12: Python 3.11).
BASE_SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-pip", "ca-certificates")
BASE_IMAGE = "localhost/productstore/python:3.11-bookworm"
BASE_RECIPE = 1

PAUSE_IMAGE = "localhost/productstore/pause:1"
# helm for operator/Dockerfile's `helm` stage (build arg HELM_IMAGE).
HELM_IMAGE = "localhost/productstore/helm:devstack"

_LIBDIR = "usr/lib/x86_64-linux-gnu"
_IPTABLES_COMMANDS = (
    "iptables",
    "iptables-save",
    "iptables-restore",
    "ip6tables",
    "ip6tables-save",
    "ip6tables-restore",
)
_HINT = (
    "run `apt-get update` (apt-get download reads its lists); if a pinned version is gone "
    "from the archive, bump it in devstack/src/devstack/components/node_build.py"
)


def debian_fingerprint() -> str:
    return f"recipe={DEBIAN_RECIPE};" + ";".join(f"{k}={v}" for k, v in DEBIAN_PACKAGES.items())


def provision_debian_packages(component: str, tmp: Path, final: Path, *, log_file: Path) -> None:
    """Download the pinned packages and unpack them into tmp/root; tools into tmp/bin.

    final is where tmp is renamed to: buildah's RUNPATH must name it, since
    buildah re-executes itself where $ORIGIN does not resolve.
    """
    debs = tmp / "debs"
    debs.mkdir(parents=True)
    run(
        component,
        [
            "apt-get",
            "download",
            *(f"{name}={version}" for name, version in DEBIAN_PACKAGES.items()),
        ],
        cwd=debs,
        log_file=log_file,
        hint=_HINT,
        timeout=900,
    )
    root = tmp / "root"
    root.mkdir()
    for deb in sorted(debs.glob("*.deb")):
        run(component, ["dpkg-deb", "-x", str(deb), str(root)], log_file=log_file, hint=_HINT)
    for deb in debs.glob("*.deb"):
        deb.unlink()
    debs.rmdir()
    run(
        component,
        [
            str(root / "usr/bin/patchelf"),
            "--set-rpath",
            str(final / "root" / _LIBDIR),
            str(root / "usr/bin/buildah"),
        ],
        log_file=log_file,
        hint=_HINT,
    )
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    links = {
        "containerd": "usr/bin/containerd",
        "containerd-shim-runc-v2": "usr/bin/containerd-shim-runc-v2",
        "ctr": "usr/bin/ctr",
        "runc": "usr/sbin/runc",
        "buildah": "usr/bin/buildah",
        "mmdebstrap": "usr/bin/mmdebstrap",
    }
    for name, rel in links.items():
        (bin_dir / name).symlink_to(final / "root" / rel)
    # iptables finds its libraries and extensions in the unpacked tree, and picks
    # its command (iptables, iptables-save, ...) from the name it is run by.
    xtables = tmp / "xtables"
    xtables.mkdir()
    for name in _IPTABLES_COMMANDS:
        (xtables / name).symlink_to(final / "root/usr/sbin/xtables-nft-multi")
        wrapper = bin_dir / name
        wrapper.write_text(
            "#!/bin/sh\n"
            f'LD_LIBRARY_PATH="{final / "root" / _LIBDIR}" '
            f'XTABLES_LIBDIR="{final / "root" / _LIBDIR / "xtables"}" '
            f'exec "{final / "xtables" / name}" "$@"\n'
        )
        wrapper.chmod(0o755)
    nft = bin_dir / "nft"
    nft.write_text(
        "#!/bin/sh\n"
        f'LD_LIBRARY_PATH="{final / "root" / _LIBDIR}" exec "{final / "root/usr/sbin/nft"}" "$@"\n'
    )
    nft.chmod(0o755)


def check_tools(component: str, bin_dir: Path, *, log_file: Path) -> None:
    """Each unpacked tool runs (its libraries from the system or the artifact are there)."""
    for argv in (
        ["containerd", "--version"],
        ["runc", "--version"],
        ["iptables", "--version"],
        ["nft", "--version"],
        ["buildah", "--version"],
    ):
        run(
            component,
            [str(bin_dir / argv[0]), *argv[1:]],
            log_file=log_file,
            hint="a library the Debian package needs is missing: install it with apt-get",
        )


# --- the pause image ---------------------------------------------------------
def _tar_bytes(files: Mapping[str, tuple[bytes, int]]) -> bytes:
    """A reproducible tar of {path: (content, mode)}: fixed owner and mtime."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, (content, mode) in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mode = mode
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def write_image_archive(
    archive: Path, *, tag: str, layer: bytes, entrypoint: Sequence[str], user: str = ""
) -> None:
    """A one-layer image as a `docker save` archive, which `ctr images import` reads."""
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": list(entrypoint), "User": user, "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "devstack", "created": "1970-01-01T00:00:00Z"}],
        "created": "1970-01-01T00:00:00Z",
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_name = diff_id.removeprefix("sha256:") + "/layer.tar"
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": [layer_name]}]
    outer = _tar_bytes(
        {
            config_name: (config_bytes, 0o644),
            layer_name: (layer, 0o644),
            "manifest.json": (json.dumps(manifest).encode(), 0o644),
        }
    )
    archive.write_bytes(outer)


def build_pause_image(component: str, out: Path, *, source: Path, log_file: Path) -> None:
    """gcc -static pause.c, packed as the image PAUSE_IMAGE into out/pause.tar."""
    binary = out / "pause"
    run(
        component,
        ["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(binary), str(source)],
        log_file=log_file,
        hint="install gcc and libc6-dev (static glibc): `make setup` does it",
    )
    layer = _tar_bytes({"pause": (binary.read_bytes(), 0o755)})
    write_image_archive(out / "pause.tar", tag=PAUSE_IMAGE, layer=layer, entrypoint=["/pause"])
    binary.unlink()


def pause_fingerprint(source: Path) -> str:
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    return f"pause={digest};tag={PAUSE_IMAGE}"


# --- buildah -----------------------------------------------------------------
# Every image here is local: pulling from any registry is refused.
_POLICY = {
    "default": [{"type": "reject"}],
    "transports": {
        t: {"": [{"type": "insecureAcceptAnything"}]}
        for t in ("containers-storage", "docker-archive", "oci-archive", "oci", "dir")
    },
}


class Buildah:
    """buildah from the unpacked package, with its storage and configuration in the cache."""

    def __init__(self, component: str, *, bin_dir: Path, home: Path, log_file: Path) -> None:
        self.component = component
        self.bin_dir = bin_dir
        self.home = home
        self.log_file = log_file

    def _configure(self) -> dict[str, str]:
        self.home.mkdir(parents=True, exist_ok=True)
        # Where buildah keeps RUN --mount=type=cache directories (the services' shared
        # uv cache) and its scratch files: in the cache, not in /var/tmp.
        (self.home / "tmp").mkdir(exist_ok=True)
        storage = self.home / "storage.conf"
        storage.write_text(
            "[storage]\n"
            'driver = "overlay"\n'
            f'graphroot = "{self.home / "storage"}"\n'
            f'runroot = "{self.home / "run"}"\n'
        )
        registries = self.home / "registries.conf"
        registries.write_text("unqualified-search-registries = []\n")
        (self.home / "policy.json").write_text(json.dumps(_POLICY))
        return {
            "CONTAINERS_STORAGE_CONF": str(storage),
            "CONTAINERS_REGISTRIES_CONF": str(registries),
            "BUILDAH_ISOLATION": "chroot",
            "TMPDIR": str(self.home / "tmp"),
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def __call__(self, *args: str, cwd: Path | None = None, hint: str = _HINT) -> None:
        run(
            self.component,
            [str(self.bin_dir / "buildah"), *args],
            cwd=cwd,
            env=self._configure(),
            log_file=self.log_file,
            hint=hint,
            timeout=1800,
        )

    def output(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / "buildah"), *args],
            env={**os.environ, **self._configure()},
            capture_output=True,
            text=True,
            check=False,
        )

    def has_image(self, tag: str) -> bool:
        return self.output("inspect", "--type", "image", tag).returncode == 0

    @property
    def policy(self) -> str:
        return f"--signature-policy={self.home / 'policy.json'}"


def base_fingerprint() -> str:
    return f"recipe={BASE_RECIPE};suite={BASE_SUITE};packages={BASE_PACKAGES};tag={BASE_IMAGE}"


def apt_sources() -> Path:
    """The machine's Debian sources (the mirror it reaches), for mmdebstrap."""
    for candidate in (
        Path("/etc/apt/sources.list.d/debian.sources"),
        Path("/etc/apt/sources.list"),
    ):
        if candidate.is_file() and candidate.read_text().strip():
            return candidate
    raise DevstackError("node", "no Debian sources in /etc/apt", hint="configure apt first")


# Run by mmdebstrap on the unpacked tree ($1): the host's extra CA certificates
# (a TLS-inspecting proxy's, where there is one) so pip and uv reach PyPI from a
# build step as they do from the host; then what the official python image
# offers: `python`, and pip that may install outside a venv.
_CUSTOMIZE = (
    'for c in /usr/local/share/ca-certificates/*.crt; do [ -e "$c" ] '
    '&& cp "$c" "$1/usr/local/share/ca-certificates/"; done; chroot "$1" update-ca-certificates',
    'rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED; ln -sf python3 "$1/usr/bin/python"; '
    'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
)


def build_base_image(buildah: Buildah, work: Path, *, log_file: Path) -> str:
    """mmdebstrap a Python 3.11 rootfs and commit it as BASE_IMAGE; returns its image id."""
    rootfs = work / "rootfs.tar"
    hooks = [arg for hook in _CUSTOMIZE for arg in ("--customize-hook", hook)]
    run(
        buildah.component,
        [
            str(buildah.bin_dir / "mmdebstrap"),
            "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}",
            "--mode=root",
            "--skip=output/dev",
            *hooks,
            BASE_SUITE,
            str(rootfs),
            str(apt_sources()),
        ],
        log_file=log_file,
        hint="mmdebstrap needs the Debian archive: check `apt-get update` works",
        timeout=1800,
    )
    created = buildah.output(buildah.policy, "from", "scratch")
    if created.returncode != 0:
        raise DevstackError(buildah.component, f"buildah from scratch: {created.stderr.strip()}")
    container = created.stdout.strip()
    try:
        buildah("add", container, str(rootfs), "/")
        buildah(
            "config",
            "--env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--env=LANG=C.UTF-8",
            # uv verifies TLS with its own roots unless told to use the system's.
            "--env=SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
            "--cmd=python3",
            container,
        )
        buildah("commit", buildah.policy, "--rm", container, BASE_IMAGE)
    except BaseException:
        buildah.output("rm", container)
        raise
    finally:
        rootfs.unlink(missing_ok=True)
    inspected = buildah.output(
        "inspect", "--type", "image", "--format", "{{.FromImageID}}", BASE_IMAGE
    )
    return inspected.stdout.strip()


def build_image(
    buildah: Buildah,
    *,
    workspace: Path,
    dockerfile: str,
    build_args: Mapping[str, str],
    tag: str,
) -> str:
    """One of the project's Dockerfiles, as a Docker user builds it (buildah's layer
    cache makes an unchanged step free); returns the image id."""
    buildah(
        "bud",
        buildah.policy,
        "--isolation=chroot",
        "--layers",
        f"--file={dockerfile}",
        f"--build-arg=BASE_IMAGE={BASE_IMAGE}",
        *(f"--build-arg={key}={value}" for key, value in build_args.items()),
        f"--tag={tag}",
        ".",
        cwd=workspace,
        hint=f"see the build log; the same file builds with `docker build -f {dockerfile} .`",
    )
    inspected = buildah.output("inspect", "--type", "image", "--format", "{{.FromImageID}}", tag)
    if inspected.returncode != 0:
        raise DevstackError(buildah.component, f"built {tag} but cannot inspect it")
    return inspected.stdout.strip()


# .dockerignore patterns read here: a path (`.git`, `bench/results`), or `**/` and a
# name pattern (`**/*.pyc`). Anything else makes context_digest give up.
_GLOB_CHARS = frozenset("*?[")


def _ignore_rules(workspace: Path) -> tuple[set[str], list[str]] | None:
    """(excluded paths, excluded name patterns) of the workspace's .dockerignore."""
    paths: set[str] = set()
    names: list[str] = []
    try:
        lines = (workspace / ".dockerignore").read_text().splitlines()
    except FileNotFoundError:
        return paths, names
    for line in (raw.strip() for raw in lines):
        if not line or line.startswith("#"):
            continue
        pattern = line.removeprefix("/").removesuffix("/")
        if pattern.startswith("**/") and "/" not in pattern[3:] and "!" not in pattern:
            names.append(pattern[3:])
        elif not _GLOB_CHARS & set(pattern) and not pattern.startswith("!"):
            paths.add(pattern)
        else:
            return None
    return paths, names


def context_digest(workspace: Path) -> str | None:
    """A digest of everything a build from ``workspace`` can COPY: each file's path,
    mode and bytes (a link's target), less what .dockerignore leaves out. None when
    .dockerignore holds a pattern this reading does not follow: then every build runs."""
    rules = _ignore_rules(workspace)
    if rules is None:
        return None
    paths, names = rules

    def ignored(relative: str, name: str) -> bool:
        return relative in paths or any(fnmatch.fnmatchcase(name, glob) for glob in names)

    digest = hashlib.sha256()
    for root, dirs, files in os.walk(workspace):
        base = Path(root).relative_to(workspace).as_posix()
        prefix = "" if base == "." else base + "/"
        dirs[:] = sorted(d for d in dirs if not ignored(prefix + d, d))
        # A link to a directory is listed with the directories (and not walked).
        links = [d for d in dirs if Path(root, d).is_symlink()]
        for name in sorted([*files, *links]):
            relative = prefix + name
            if ignored(relative, name):
                continue
            path = Path(root, name)
            info = path.lstat()
            digest.update(f"{relative}\0{info.st_mode:o}\0".encode())
            if stat.S_ISLNK(info.st_mode):
                digest.update(str(path.readlink()).encode())
            else:
                digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def unchanged_image(buildah: Buildah, tag: str, key: str | None, stamp: Path) -> str | None:
    """The image id of ``tag`` if it was built from the inputs ``key`` names (the stamp
    written by :func:`record_build` says so, and buildah still holds that image)."""
    if key is None:
        return None
    try:
        recorded_key, image_id = stamp.read_text().splitlines()
    except (FileNotFoundError, ValueError):
        return None
    if recorded_key != key:
        return None
    inspected = buildah.output("inspect", "--type", "image", "--format", "{{.FromImageID}}", tag)
    if inspected.returncode != 0 or inspected.stdout.strip() != image_id:
        return None
    return image_id


def record_build(stamp: Path, key: str | None, image_id: str) -> None:
    """Remember which inputs built ``image_id`` (nothing to remember without a key)."""
    if key is None:
        stamp.unlink(missing_ok=True)
        return
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(f"{key}\n{image_id}\n")


def image_id(buildah: Buildah, tag: str) -> str:
    """The id of a local image, or "" if buildah does not hold it."""
    inspected = buildah.output("inspect", "--type", "image", "--format", "{{.FromImageID}}", tag)
    return inspected.stdout.strip() if inspected.returncode == 0 else ""


def remove_stage_containers(buildah: Buildah, image: str) -> int:
    """Remove the working containers buildah left of ``image``; how many there were.

    buildah 1.28 (Debian 12) keeps, and keeps mounted, the working container of a
    stage that has no instruction of its own (operator/Dockerfile's `FROM ${HELM_IMAGE}
    AS helm`, read only by a later COPY --from): one more overlay mount under the
    storage at every operator build, i.e. at every `devstack up node`."""
    listed = buildah.output("containers", "--format", "{{.ContainerID}} {{.ImageName}}")
    if listed.returncode != 0:
        raise DevstackError(buildah.component, f"buildah containers: {listed.stderr.strip()}")
    left = [
        container
        for container, _, name in (line.partition(" ") for line in listed.stdout.splitlines())
        if name.strip() == image
    ]
    for container in left:
        removed = buildah.output("rm", container)
        if removed.returncode != 0:
            raise DevstackError(buildah.component, f"buildah rm {container}: {removed.stderr}")
    return len(left)


def build_helm_image(buildah: Buildah, helm: Path) -> None:
    """HELM_IMAGE: /out/helm, the binary devstack built with operator/Dockerfile's recipe,
    which the Dockerfile's `helm` stage takes where the golang image is out of reach.
    Made again only when the binary changed."""
    digest = hashlib.sha256(helm.read_bytes()).hexdigest()
    stamp = buildah.home / "helm-image.sha256"
    if buildah.has_image(HELM_IMAGE) and stamp.exists() and stamp.read_text().strip() == digest:
        return
    stamp.unlink(missing_ok=True)
    created = buildah.output(buildah.policy, "from", "scratch")
    if created.returncode != 0:
        raise DevstackError(buildah.component, f"buildah from scratch: {created.stderr.strip()}")
    container = created.stdout.strip()
    try:
        buildah("copy", "--chmod=0755", container, str(helm), "/out/helm")
        buildah("commit", buildah.policy, "--rm", container, HELM_IMAGE)
    except BaseException:
        buildah.output("rm", container)
        raise
    stamp.write_text(digest + "\n")


# --- to containerd, through one OCI layout -------------------------------------
# Every image is pushed into one OCI image layout: a layer two images share is stored
# once, on disk and in containerd. A push compresses every layer of the image again
# (the layout cannot tell that a local layer is one it holds compressed), so an
# export costs the whole image; it is skipped when the image id did not change.
def export_image(buildah: Buildah, *, tag: str, image_id: str, layout: Path) -> None:
    """Push tag into layout (as ref_name(tag)) unless that image id is already there."""
    id_file = layout / "ids" / ref_name(tag)
    if id_file.exists() and id_file.read_text().strip() == image_id and _manifest(layout, tag):
        return
    id_file.parent.mkdir(parents=True, exist_ok=True)
    id_file.unlink(missing_ok=True)
    buildah(
        "push",
        buildah.policy,
        "--quiet",
        "--format=oci",
        # The layout always compresses (its writer knows no other way); zstd takes
        # half of gzip's time here, and containerd 1.6 unpacks it.
        "--compression-format=zstd",
        tag,
        f"oci:{layout}:{ref_name(tag)}",
    )
    id_file.write_text(image_id + "\n")


def ref_name(tag: str) -> str:
    """The layout's name for an image: `productstore-catalog` of
    `localhost/productstore/productstore-catalog:0.1.0` (one version kept per image)."""
    return tag.rsplit("/", 1)[-1].split(":", 1)[0]


def _index(layout: Path) -> dict[str, Any]:
    try:
        index: dict[str, Any] = json.loads((layout / "index.json").read_text())
    except FileNotFoundError:
        return {"manifests": []}
    return index


def _blob(layout: Path, digest: str) -> Path:
    algorithm, hexdigest = digest.split(":", 1)
    return layout / "blobs" / algorithm / hexdigest


def _manifest(layout: Path, tag: str) -> dict[str, Any] | None:
    """The manifest descriptor of tag's image in the layout's index."""
    for descriptor in _index(layout)["manifests"]:
        annotations = descriptor.get("annotations") or {}
        if annotations.get("org.opencontainers.image.ref.name") == ref_name(tag):
            found: dict[str, Any] = descriptor
            return found
    return None


def _image_blobs(layout: Path, manifest: Mapping[str, Any]) -> list[str]:
    """The digests an image is made of: its manifest, config and layers."""
    body = json.loads(_blob(layout, manifest["digest"]).read_bytes())
    return [manifest["digest"], body["config"]["digest"], *(x["digest"] for x in body["layers"])]


def collect_garbage(layout: Path) -> int:
    """Forget the images a later push replaced (the layout keeps them in its index,
    unnamed), then delete the blobs no named image uses; returns the bytes freed."""
    index = _index(layout)
    named = [
        m
        for m in index["manifests"]
        if "org.opencontainers.image.ref.name" in (m.get("annotations") or {})
    ]
    if named != index["manifests"]:
        (layout / "index.json").write_text(json.dumps({**index, "manifests": named}))
    used = {digest for manifest in named for digest in _image_blobs(layout, manifest)}
    freed = 0
    for blob in (layout / "blobs").glob("*/*"):
        if f"{blob.parent.name}:{blob.name}" not in used:
            freed += blob.stat().st_size
            blob.unlink()
    return freed


def image_archive(layout: Path, tag: str, out: IO[bytes]) -> None:
    """Write a one-image OCI archive of tag to out (a stream: ctr reads it from a pipe),
    named for containerd by the io.containerd.image.name annotation."""
    manifest = _manifest(layout, tag)
    if manifest is None:
        raise DevstackError(
            "node", f"{tag} is not in {layout}", hint="run `devstack provision node`"
        )
    named = {
        **manifest,
        "annotations": {
            "io.containerd.image.name": tag,
            "org.opencontainers.image.ref.name": tag.rsplit(":", 1)[1],
        },
    }
    index = {"schemaVersion": 2, "manifests": [named]}
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for name, content in (
            ("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode()),
            ("index.json", json.dumps(index).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for digest in _image_blobs(layout, manifest):
            blob = _blob(layout, digest)
            tar.add(blob, arcname=str(blob.relative_to(layout)))
