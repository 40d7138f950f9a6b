"""Deploy the Postal v3 compose stack to a Debian/Ubuntu host (Coolify or standalone).

Run alone: ``pyinfra inventory/production.py deploys/postal.py``; the whole host: ``deploys/all.py``.

Stages, in this order and why:
1. preconditions (facts only): stop before touching a host that cannot run the stack;
2. install (optional Docker from Debian's packages) and the ``/opt/postal`` layout (bind mounts only:
   Coolify may prune named volumes);
3. secrets, generated once on the host (never overwritten, never in a command line);
4. configuration files rendered locally (:mod:`deploys.render`) and uploaded;
5. upgrade when the version changed: dump first (while the old version still runs), migrate;
6. initialize a fresh host: MariaDB first, because ``postal initialize`` needs it, and before the
   Postal services start, so they never run against an empty schema;
7. ``up -d`` when the compose file differs from the last applied one or a service is down;
8. the admin user, through the admin API (which only runs after stage 7).
"""

from __future__ import annotations

import shlex
from io import StringIO
from typing import Any

from pyinfra.api.deploy import deploy
from pyinfra.api.exceptions import DeployError
from pyinfra.context import host
from pyinfra.facts.server import LinuxDistribution, Which
from pyinfra.operations import apt, files

from deploys.config import HostSettings, ProxyMode, PullPolicy, SettingsError, load_settings
from deploys.facts import ComposeCommand, DockerNetworkExists, FreeKiB, MemTotalMiB
from deploys.ops import (
    POSTAL_SERVICES,
    AdminUser,
    SecretSpec,
    Stack,
    postal_admin_user,
    postal_initialize,
    postal_upgrade,
    secret_file,
    stack_up,
)
from deploys.render import (
    TemplateMissingError,
    content_hash,
    render_admin_api,
    render_caddyfile,
    render_compose,
    render_postal_yml,
)

POSTAL_UID = 999  # the `postal` user inside Postal's image; it must read signing.key, the token, smtp.key
SMTP_TLS_DAYS = 3650  # a self-signed certificate nobody validates: long-lived, so it never silently expires
SUPPORTED_DISTROS = ("Debian", "Ubuntu")


def host_settings() -> HostSettings:
    """This host's settings, validated; a :class:`DeployError` names every bad key before any operation."""
    try:
        data: dict[str, Any] = host.data.dict()  # type: ignore[no-untyped-call]
        return load_settings(data)
    except SettingsError as exc:
        raise DeployError(f"{host.name}: {exc}") from None


def precondition_problems(
    settings: HostSettings,
    distro: str | None,
    has_docker: bool,
    compose: str | None,
    free_kib: int | None,
    memory_mib: int | None,
    coolify_network: bool,
) -> list[str]:
    """What stops this host from running the stack, each with its fix. Empty means go."""
    problems = []
    if distro not in SUPPORTED_DISTROS:
        problems.append(f"operating system is {distro or 'unknown'}; use Debian 12 or Ubuntu 22.04+")
    if not has_docker and not settings.install_docker:
        problems.append("Docker is not installed; install Docker (Coolify does) or set install_docker=True")
    elif has_docker and compose is None:
        problems.append(
            "Docker Compose is missing; install the compose plugin (`docker compose`) or Debian's docker-compose"
        )
    need_kib = int(settings.min_disk_free_gb * 1024 * 1024)
    if free_kib is not None and free_kib < need_kib:
        problems.append(
            f"only {free_kib // 1024} MiB free under {settings.postal_root}; need "
            f"{settings.min_disk_free_gb} GiB (min_disk_free_gb)"
        )
    if memory_mib is not None and memory_mib < settings.min_memory_mb:
        problems.append(f"{memory_mib} MiB memory; need {settings.min_memory_mb} MiB (min_memory_mb)")
    if settings.proxy_mode is ProxyMode.COOLIFY and has_docker and not coolify_network:
        problems.append(
            f"proxy_mode='coolify' but the Docker network {settings.coolify_network!r} does not exist; "
            "install Coolify first or set proxy_mode='standalone'"
        )
    return problems


def compose_command(settings: HostSettings) -> str:
    """Check the host (facts only) and return how to call compose there; raise with every problem."""
    distro = host.get_fact(LinuxDistribution).get("name")
    has_docker = bool(host.get_fact(Which, command="docker"))
    compose = host.get_fact(ComposeCommand) if has_docker else None
    network = has_docker and host.get_fact(DockerNetworkExists, network=settings.coolify_network)
    problems = precondition_problems(
        settings,
        distro,
        has_docker,
        compose,
        host.get_fact(FreeKiB, path=settings.postal_root),
        host.get_fact(MemTotalMiB),
        bool(network),
    )
    if problems:
        raise DeployError(f"{host.name} cannot run Postal:\n  " + "\n  ".join(problems))
    # Installing Docker from Debian gives compose v1 (`docker-compose`).
    return compose or "docker-compose"


def secret_specs(root: str) -> list[SecretSpec]:
    """Every secret on the host. Later specs read earlier files, so the order matters."""
    s = f"{root}/secrets"
    return [
        SecretSpec(f"{s}/db-password", "openssl rand -hex 24"),
        SecretSpec(f"{s}/rails-secret-key", "openssl rand -hex 64"),
        SecretSpec(f"{s}/admin-password", "openssl rand -hex 12"),
        SecretSpec(
            f"{s}/postal.env",
            "printf 'MAIN_DB_PASSWORD=%s\\nMESSAGE_DB_PASSWORD=%s\\nRAILS_SECRET_KEY=%s\\n' "
            f'"$(cat {s}/db-password)" "$(cat {s}/db-password)" "$(cat {s}/rails-secret-key)"',
        ),
        SecretSpec(
            f"{s}/mariadb.env",
            "printf 'MARIADB_ROOT_PASSWORD=%s\\nMYSQL_ROOT_PASSWORD=%s\\n' "
            f'"$(cat {s}/db-password)" "$(cat {s}/db-password)"',
        ),
        SecretSpec(f"{root}/config/signing.key", "openssl genrsa 2048 2>/dev/null", POSTAL_UID, POSTAL_UID),
        SecretSpec(f"{root}/config/admin-api.token", "openssl rand -hex 32", POSTAL_UID, POSTAL_UID),
    ]


def smtp_tls_specs(root: str, hostname: str) -> list[SecretSpec]:
    """STARTTLS key and a self-signed certificate for ``hostname``, generated once on the host.

    Self-signed is enough: opportunistic STARTTLS between MTAs does not validate certificates
    (RFC 7435), and MTA-STS, which does, needs a public certificate the operator brings. Either way
    the pair lives in the same two files, which a re-run never overwrites (``test -s``). The key
    comes first because the certificate is made from it; a certificate left without its key stops
    the deploy rather than pairing it with a fresh key that does not match (TLS would fail).
    """
    key, cert = f"{root}/config/smtp.key", f"{root}/config/smtp.cert"
    subject = shlex.quote(f"/CN={hostname}")
    san = shlex.quote(f"subjectAltName=DNS:{hostname}")
    orphan = shlex.quote(f"{cert} exists without {key}: put its key there, or remove both to generate a pair")
    return [
        SecretSpec(
            key,
            f"if [ -s {shlex.quote(cert)} ]; then echo {orphan} >&2; exit 1; fi; openssl genrsa 2048 2>/dev/null",
            POSTAL_UID,
            POSTAL_UID,
        ),
        SecretSpec(
            cert,
            f"openssl req -new -x509 -key {shlex.quote(key)} -sha256 -days {SMTP_TLS_DAYS} "
            f"-subj {subject} -addext {san} 2>/dev/null",
            POSTAL_UID,
            POSTAL_UID,
            "644",
        ),
    ]


def config_digest(postal_yml: str, admin_api: str) -> str:
    return content_hash(postal_yml, admin_api)


def image_pull_enabled(settings: HostSettings) -> bool:
    return settings.pull_policy is not PullPolicy.NEVER


def _put(text: str, dest: str, mode: str = "644") -> None:
    files.put(
        name=f"Upload {dest}",
        src=StringIO(text),
        dest=dest,
        user="root",
        group="root",
        mode=mode,
    )


@deploy("Postal stack")
def deploy_postal(settings: HostSettings | None = None) -> None:
    s = settings or host_settings()
    compose = compose_command(s)
    root = s.postal_root
    stack = Stack(root=root, project=s.compose_project, compose=compose)

    if s.install_docker and compose == "docker-compose":
        apt.packages(
            name="Install Docker and Compose from Debian",
            packages=["docker.io", "docker-compose"],
            update=True,
            cache_time=3600,
        )

    # --- layout: bind mounts only ---
    for path, mode in (
        (root, "755"),
        (f"{root}/config", "755"),  # uid 999 in the containers must traverse it
        (f"{root}/secrets", "700"),
        (f"{root}/state", "700"),
        (f"{root}/backups", "700"),
    ):
        files.directory(name=f"Directory {path}", path=path, user="root", group="root", mode=mode)
    # MariaDB's entrypoint owns its data dir (it chowns it to its uid): only make sure it exists.
    files.directory(name=f"Directory {root}/mariadb", path=f"{root}/mariadb")
    if s.proxy_mode is ProxyMode.STANDALONE:
        for sub in ("caddy", "caddy/data", "caddy/config"):
            files.directory(name=f"Directory {root}/{sub}", path=f"{root}/{sub}", mode="755")

    # --- secrets, generated on the host once ---
    for spec in secret_specs(root):
        secret_file(name=f"Secret {spec.path}", spec=spec)
    # With the secrets, long before stack_up: postal.yml turning TLS on recreates smtp, and the pair must
    # be there by then. Switching smtp_tls off leaves the files in place, unused.
    if s.smtp_tls:
        for spec in smtp_tls_specs(root, s.smtp_host):
            secret_file(name=f"SMTP TLS {spec.path}", spec=spec)

    # --- configuration ---
    try:
        admin_api = render_admin_api()
    except TemplateMissingError as exc:
        raise DeployError(f"{exc}: the admin API service runs it (bin/rails runner /config/admin-api.rb)") from None
    postal_yml = render_postal_yml(s)
    caddyfile = render_caddyfile(s)
    _put(postal_yml, f"{root}/config/postal.yml")
    _put(admin_api, f"{root}/config/admin-api.rb")
    if s.proxy_mode is ProxyMode.STANDALONE:
        _put(caddyfile, f"{root}/caddy/Caddyfile")
    compose_yml = render_compose(
        s,
        compose_command=compose,
        config_hash=config_digest(postal_yml, admin_api),
        caddy_hash=content_hash(caddyfile) if s.proxy_mode is ProxyMode.STANDALONE else "",
    )
    _put(compose_yml, f"{root}/docker-compose.yml")

    # --- activate ---
    postal_upgrade(
        name="Upgrade Postal (dump, pull, migrate)",
        stack=stack,
        version=s.postal_version,
        pull=image_pull_enabled(s),
    )
    postal_initialize(name="Initialize Postal database", stack=stack, version=s.postal_version)
    expected = ("mariadb", *POSTAL_SERVICES) + (("caddy",) if s.proxy_mode is ProxyMode.STANDALONE else ())
    stack_up(name="Start the Postal stack", stack=stack, expected=expected, desired_hash=content_hash(compose_yml))
    postal_admin_user(
        name=f"Admin user {s.admin_email}",
        stack=stack,
        user=AdminUser(email=s.admin_email, first_name=s.admin_first_name, last_name=s.admin_last_name),
        password_file=f"{root}/secrets/admin-password",
    )


if __name__ == "builtins":  # executed by the pyinfra CLI as a deploy file
    deploy_postal()
