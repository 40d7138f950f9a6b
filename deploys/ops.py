"""Our pyinfra operations for the Postal stack and the firewall.

Each operation reads facts and yields commands; the decision is a plain ``*_commands`` function of
fact values so unit tests can check it without a host. No command text ever contains a secret:
secrets are generated on the host by shell, and later commands reference files, not values.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from pyinfra.api.operation import operation
from pyinfra.context import host

from deploys.facts import ComposeServices, FileStat, FirewallState, Marker, Stat, VibnFirewall

POSTAL_SERVICES = ("web", "smtp", "worker", "admin-api")
REVERT_UNIT = "vibn-mail-firewall-revert"


# --- secrets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretSpec:
    """A file generated once on the host. ``generate`` prints the content on stdout; it must not
    contain the secret itself (pyinfra may print commands), only the recipe (``openssl rand …``)."""

    path: str
    generate: str
    uid: int = 0
    gid: int = 0
    mode: str = "600"


def secret_commands(stat: Stat | None, spec: SecretSpec) -> list[str]:
    """Generate when absent or empty, never overwrite; otherwise only repair owner and mode."""
    path = shlex.quote(spec.path)
    if stat is None or stat.size == 0:
        return [
            # The trap drops the temporary file when generation fails (it is gone after the mv anyway).
            f"test -s {path} || ( set -e; umask 077; tmp=$(mktemp {path}.XXXXXX); trap 'rm -f \"$tmp\"' EXIT; "
            f'( {spec.generate} ) > "$tmp"; test -s "$tmp"; '
            f'chown {spec.uid}:{spec.gid} "$tmp"; chmod {spec.mode} "$tmp"; mv -f "$tmp" {path} )'
        ]
    commands = []
    if (stat.uid, stat.gid) != (spec.uid, spec.gid):
        commands.append(f"chown {spec.uid}:{spec.gid} {path}")
    if stat.mode != spec.mode:
        commands.append(f"chmod {spec.mode} {path}")
    return commands


@operation()
def secret_file(spec: SecretSpec) -> Generator[str, None, None]:
    """Ensure a secret file exists with the given owner and mode, generated on the host once."""
    commands = secret_commands(host.get_fact(FileStat, path=spec.path), spec)
    if not commands:
        host.noop(f"{spec.path} exists with owner {spec.uid}:{spec.gid} mode {spec.mode}")
    yield from commands


# --- the compose stack ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    """Where the stack lives and how to drive compose on this host."""

    root: str
    project: str
    compose: str  # "docker compose" or "docker-compose"

    def cmd(self, args: str) -> str:
        return f"cd {shlex.quote(self.root)} && {self.compose} -p {self.project} -f docker-compose.yml {args}"

    def state(self, name: str) -> str:
        return f"{self.root}/state/{name}"


def is_up(status: str) -> bool:
    """docker ps status: "Up 2 minutes (healthy)" is up; "Exited (1)…", "Restarting…", "Created" are not."""
    return status.startswith("Up") and "unhealthy" not in status


def stack_up_commands(
    stack: Stack,
    services: Mapping[str, str],
    expected: Iterable[str],
    applied_hash: str | None,
    desired_hash: str,
) -> list[str]:
    """``up -d`` when the compose file changed since the last successful apply or a service is down.

    Config files are hashed into the compose file (an env var per service), so a changed postal.yml
    changes the compose file and ``up -d`` recreates exactly the services that read it.
    """
    down = sorted(name for name in expected if not is_up(services.get(name, "")))
    if applied_hash == desired_hash and not down:
        return []
    return [
        stack.cmd("config -q")
        + f" && {stack.compose} -p {stack.project} -f docker-compose.yml up -d --remove-orphans"
        + f" && echo {desired_hash} > {shlex.quote(stack.state('applied-compose'))}"
    ]


@operation()
def stack_up(stack: Stack, expected: tuple[str, ...], desired_hash: str) -> Generator[str, None, None]:
    """Bring the stack to the rendered compose file; a no-op when it is applied and running."""
    # None when no container of the project exists yet (or any more).
    services: dict[str, str] = host.get_fact(ComposeServices, project=stack.project) or {}
    commands = stack_up_commands(
        stack,
        services,
        expected,
        host.get_fact(Marker, path=stack.state("applied-compose")),
        desired_hash,
    )
    if not commands:
        host.noop("stack applied and all services up")
    yield from commands


def initialize_commands(stack: Stack, initialized: str | None, version: str) -> list[str]:
    """``postal initialize`` once per host: the marker is written only after it succeeded."""
    if initialized:
        return []
    return [
        stack.cmd("up -d mariadb")
        + f" && {stack.compose} -p {stack.project} -f docker-compose.yml run --rm -T runner postal initialize"
        + f" && echo {version} > {shlex.quote(stack.state('postal-version'))}"
        + f" && date -u +%FT%TZ > {shlex.quote(stack.state('initialized'))}"
    ]


@operation()
def postal_initialize(stack: Stack, version: str) -> Generator[str, None, None]:
    """Create Postal's databases and schema on a fresh host (MariaDB first: initialize needs it)."""
    commands = initialize_commands(stack, host.get_fact(Marker, path=stack.state("initialized")), version)
    if not commands:
        host.noop("Postal database already initialized")
    yield from commands


def dump_command(stack: Stack, label: str) -> str:
    """All databases to ``backups/postal-<label>-<UTC time>.sql.gz``; the password stays in the container."""
    name = f"{stack.root}/backups/postal-{label}-$(date -u +%Y%m%dT%H%M%SZ).sql"
    dump = "exec -T mariadb sh -c " + shlex.quote(
        'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" exec mariadb-dump -uroot --all-databases '
        "--single-transaction --routines --events --triggers"
    )
    return (
        f"f={name} && umask 077 && " + stack.cmd(dump) + ' > "$f.partial" && test -s "$f.partial"'
        ' && mv "$f.partial" "$f" && gzip "$f" && echo "dumped to $f.gz"'
    )


def upgrade_commands(
    stack: Stack, deployed: str | None, initialized: str | None, desired: str, pull: bool
) -> list[str]:
    """Version changed on an initialized host: dump first, then pull, migrate, record the version.

    The restart itself is :func:`stack_up`'s job (the image tag is in the compose file).
    """
    if not initialized or deployed is None or deployed == desired:
        return []
    commands = [dump_command(stack, deployed)]
    if pull:
        commands.append(stack.cmd("pull web"))
    commands += [
        stack.cmd("stop " + " ".join(POSTAL_SERVICES)),
        stack.cmd("run --rm -T runner postal upgrade"),
        f"echo {desired} > {shlex.quote(stack.state('postal-version'))}",
    ]
    return commands


@operation()
def postal_upgrade(stack: Stack, version: str, pull: bool) -> Generator[str, None, None]:
    """Upgrade Postal when the inventory's version differs from the one the host runs."""
    commands = upgrade_commands(
        stack,
        host.get_fact(Marker, path=stack.state("postal-version")),
        host.get_fact(Marker, path=stack.state("initialized")),
        version,
        pull,
    )
    if not commands:
        host.noop(f"Postal {version} already deployed (or first install)")
    yield from commands


@dataclass(frozen=True)
class AdminUser:
    email: str
    first_name: str
    last_name: str


def admin_user_script(user: AdminUser, token_file: str = "/config/admin-api.token", port: int = 5001) -> str:
    """bash that PUTs the admin user to the admin API; the password is read from stdin.

    Contract (vibn_mail/postal/admin_client.py): ``PUT /v1/users/<email>`` with
    ``{"first_name","last_name","password","admin"}`` and ``Authorization: Bearer <token>``, answering
    200/201. bash alone (``/dev/tcp``): no curl in Postal's image is assumed.
    """
    path = "/v1/users/" + quote(user.email, safe="")
    names = f'"first_name":{json.dumps(user.first_name)},"last_name":{json.dumps(user.last_name)}'
    head = "{" + names + ',"admin":true,"password":"'
    return (
        f"set -e; IFS= read -r pw; tok=$(cat {shlex.quote(token_file)}); "
        f'body={shlex.quote(head)}"$pw"\'"}}\'; '
        "for i in $(seq 60); do "
        f"if (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; then "
        f"exec 3<>/dev/tcp/127.0.0.1/{port}; "
        "printf 'PUT %s HTTP/1.0\\r\\nHost: localhost\\r\\nAuthorization: Bearer %s\\r\\n"
        "Content-Type: application/json\\r\\nContent-Length: %s\\r\\n\\r\\n%s' "
        f'{shlex.quote(path)} "$tok" "${{#body}}" "$body" >&3; '
        "status=$(head -n1 <&3 | tr -d '\\r'); exec 3<&-; "
        'case "$status" in *" 200"*|*" 201"*) exit 0;; esac; '
        'echo "admin API answered: $status" >&2; exit 1; '
        f"fi; sleep 2; done; echo 'admin API not reachable on :{port}' >&2; exit 1"
    )


def ensure_admin_user_command(stack: Stack, user: AdminUser, password_file: str) -> str:
    """The one place that creates Postal's admin user, through the admin API's ensure endpoint.

    Run inside the admin-api container (the API is unpublished). The password arrives on stdin
    from a root-only host file and the token is read from /config inside the container: neither
    appears in the command text.
    """
    return (
        stack.cmd(f"exec -T admin-api bash -c {shlex.quote(admin_user_script(user))}")
        + f" < {shlex.quote(password_file)}"
        + f" && echo {shlex.quote(user.email)} > {shlex.quote(stack.state('admin-user'))}"
    )


def admin_user_commands(stack: Stack, marker: str | None, user: AdminUser, password_file: str) -> list[str]:
    if marker == user.email:
        return []
    return [ensure_admin_user_command(stack, user, password_file)]


@operation()
def postal_admin_user(stack: Stack, user: AdminUser, password_file: str) -> Generator[str, None, None]:
    """Ensure the admin user once per email address (the password is set only on creation)."""
    commands = admin_user_commands(stack, host.get_fact(Marker, path=stack.state("admin-user")), user, password_file)
    if not commands:
        host.noop(f"admin user {user.email} ensured earlier")
    yield from commands


# --- firewall -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FirewallPaths:
    rules: str  # what the boot unit loads; replaced only after a confirmed apply
    staged: str  # uploaded candidate
    revert: str  # written at apply time: the previous table, or its deletion


def firewall_apply_commands(
    state: FirewallState, desired_sha256: str, paths: FirewallPaths, table: str, revert_seconds: int
) -> list[str]:
    """Commit-confirmed apply: check, save the old table, schedule its restore, load the new one.

    The revert is a transient systemd timer scheduled *before* the load, so a rule set that cuts
    SSH restores itself after ``revert_seconds``. Confirmation (a fresh SSH login, then stopping the
    timer and promoting the staged file) is a separate step run from the control machine.
    """
    if state.loaded and state.rules_sha256 == desired_sha256:
        return []
    staged, revert, rules = shlex.quote(paths.staged), shlex.quote(paths.revert), shlex.quote(paths.rules)
    # The revert is the last *confirmed* rules file (what boot loads), never `nft list` output:
    # listings are not always loadable again (anonymous sets of `ct original proto-dst` print as
    # "[invalid type]"). No confirmed file yet: the revert removes our table.
    save_previous = (
        f"if [ -s {rules} ]; then cp {rules} {revert}; "
        f"else printf 'table {table}\\ndelete table {table}\\n' > {revert}; fi"
    )
    # If the saved rules fail to load for any reason, dropping our table still restores access.
    restore = shlex.quote(f"nft -f {paths.revert} || nft delete table {table}")
    return [
        f"nft -c -f {staged}",
        f"umask 077 && {save_previous}",
        f"systemctl stop {REVERT_UNIT}.timer {REVERT_UNIT}.service 2>/dev/null || true",
        f"systemd-run --collect --unit={REVERT_UNIT} --on-active={revert_seconds}s /bin/sh -c {restore}",
        f"nft -f {staged}",
    ]


@operation(is_idempotent=True)
def firewall_apply(
    paths: FirewallPaths, desired_sha256: str, table: str, revert_seconds: int
) -> Generator[str, None, None]:
    """Load the staged rules with an automatic revert pending; see :func:`firewall_apply_commands`."""
    state = host.get_fact(VibnFirewall, table=table, rules_path=paths.rules)
    commands = firewall_apply_commands(state, desired_sha256, paths, table, revert_seconds)
    if not commands:
        host.noop(f"table {table} loaded from the current rules")
    yield from commands


def firewall_confirm_command(paths: FirewallPaths) -> str:
    """Run over a *fresh* SSH connection: cancel the revert, then make the new rules the boot rules."""
    return (
        f"systemctl stop {REVERT_UNIT}.timer 2>/dev/null || true; "
        f"test -s {shlex.quote(paths.staged)}"
        f" && install -m 600 {shlex.quote(paths.staged)} {shlex.quote(paths.rules)}"
    )
