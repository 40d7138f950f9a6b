"""The emulator's behaviour: Postal's models and their rules, over a :class:`Store`.

Both HTTP faces (legacy API, admin API), the SMTP server and the worker call into
:class:`PostalEmulator`; none of them touches the store directly. Admin answers are built here as
plain JSON so the wire format lives in one place (``_*_json``), matching
``vibn_mail.postal.admin_models`` and the Ruby admin API.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import string
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.emulators.postal import keys
from tests.emulators.postal.config import PostalConfig
from tests.emulators.postal.dns_checks import DnsExpectations, DnsPythonLookup, Lookup, check_all
from tests.emulators.postal.store import MessageDatabaseMissing, Row, Store
from vibn_mail.postal.admin_models import WEBHOOK_EVENTS

# The sandbox image is tagged once per Postal release it stands in for (vibn_mail/sandbox/images.py)
# and says which through POSTAL_EMULATOR_VERSION, so upgrade paths are visible.
VERSION = f"{os.environ.get('POSTAL_EMULATOR_VERSION', '3.3.6')}-emulator"
_ALNUM = string.ascii_letters + string.digits
PERMALINK = re.compile(r"\A[a-z0-9-]+\Z")
DOMAIN_NAME = re.compile(r"\A[a-z0-9.-]+\Z")
WEBHOOK_URL = re.compile(r"\Ahttps?://[a-z0-9\-._?=&/+:]+\Z", re.IGNORECASE)
ORG_RESERVED = {"new", "edit", "remove", "delete", "destroy", "admin", "mail", "org", "server"}
SERVER_RESERVED = {"new", "all", "search", "stats", "edit", "manage", "delete", "destroy", "remove"}
WEBHOOK_RETRY_MINUTES = {1: 2, 2: 3, 3: 6, 4: 10, 5: 15}
MAX_RECIPIENTS = 50

SEND_ERROR_MESSAGES = {
    "NoRecipients": "There are no recipients defined to receive this message",
    "NoContent": "There is no content defined for this e-mail",
    "TooManyToAddresses": "The maximum number of To addresses has been reached (maximum 50)",
    "TooManyCCAddresses": "The maximum number of CC addresses has been reached (maximum 50)",
    "TooManyBCCAddresses": "The maximum number of BCC addresses has been reached (maximum 50)",
    "FromAddressMissing": "The From address is missing and is required",
    "UnauthenticatedFromAddress": "The From address is not authorised to send mail from this server",
    "AttachmentMissingName": "An attachment is missing a name",
    "AttachmentMissingData": "An attachment is missing data",
}


def random_string(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class AdminError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class LegacyError(Exception):
    """A legacy API error answer: ``status`` error or parameter-error, and its ``data``."""

    def __init__(self, status: str, data: dict[str, Any]) -> None:
        super().__init__(data.get("code") or data.get("message"))
        self.status, self.data = status, data


def _invalid(field_name: str, message: str) -> AdminError:
    return AdminError(422, "ValidationFailed", f"{field_name} {message}", field_name)


def _not_found(kind: str, key: str) -> AdminError:
    return AdminError(404, "NotFound", f"no {kind} named {key!r}", None)


def _parameter_error(message: str) -> LegacyError:
    return LegacyError("parameter-error", {"message": message})


def _send_error(code: str, **extra: Any) -> LegacyError:
    data = {"message": SEND_ERROR_MESSAGES[code]} if code in SEND_ERROR_MESSAGES else {}
    return LegacyError("error", {**data, **extra, "code": code})


def _address(value: str | None) -> str | None:
    """Postal::Helpers.strip_name_from_address: ``Name <a@b>`` → ``a@b``."""
    if not value:
        return None
    return parseaddr(value)[1] or value.strip()


def _addresses(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v for v in re.split(r",\s*", value) if v]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


@dataclass
class Settings:
    """Knobs that are the emulator's own (not Postal's)."""

    time_scale: float = 1.0
    dns_nameserver: str | None = None
    dns_port: int = 53
    clock: Callable[[], float] = field(default=time.time)


class PostalEmulator:
    def __init__(self, config: PostalConfig, store: Store, signing_key: rsa.RSAPrivateKey, settings: Settings) -> None:
        self.config = config
        self.store = store
        self.signing_key = signing_key
        self.settings = settings

    def now(self) -> float:
        return self.settings.clock()

    # -- lookups ------------------------------------------------------------------------------------

    def _find(self, table: Any, **match: Any) -> Row | None:
        for row in self.store.rows(table):
            if all(row.get(k) == v for k, v in match.items()) and row.get("deleted_at") is None:
                return row
        return None

    def _org(self, permalink: str) -> Row:
        org = self._find("organizations", permalink=permalink)
        if org is None:
            raise _not_found("organization", permalink)
        return org

    def _server(self, org_permalink: str, permalink: str) -> tuple[Row, Row]:
        org = self._org(org_permalink)
        server = self._find("servers", organization_id=org["id"], permalink=permalink)
        if server is None:
            raise _not_found("server", f"{org_permalink}/{permalink}")
        return org, server

    def _owner(self, org: str, server: str | None) -> tuple[str, Row]:
        if server is None:
            return "Organization", self._org(org)
        return "Server", self._server(org, server)[1]

    # -- JSON shapes (the admin contract) -----------------------------------------------------------

    def _user_json(self, u: Row) -> dict[str, Any]:
        keys_ = ("uuid", "email_address", "first_name", "last_name", "admin")
        return {k: u[k] for k in keys_}

    def _org_json(self, o: Row) -> dict[str, Any]:
        owner = next((u for u in self.store.rows("users") if u["id"] == o["owner_id"]), None)
        return {
            "uuid": o["uuid"],
            "permalink": o["permalink"],
            "name": o["name"],
            "time_zone": o["time_zone"],
            "owner_email_address": owner["email_address"] if owner else None,
            "suspended": o.get("suspended_at") is not None,
        }

    def _server_json(self, s: Row, org: Row | None = None) -> dict[str, Any]:
        org = org or next(o for o in self.store.rows("organizations") if o["id"] == s["organization_id"])
        return {
            "id": s["id"],
            "uuid": s["uuid"],
            "organization": org["permalink"],
            "permalink": s["permalink"],
            "name": s["name"],
            "mode": s["mode"],
            "token": s["token"],
            "suspended": s.get("suspended_at") is not None or org.get("suspended_at") is not None,
            "message_database": self.store.message_db_name(s["id"]),
        }

    @staticmethod
    def _credential_json(c: Row, with_key: bool) -> dict[str, Any]:
        return {
            "uuid": c["uuid"],
            "name": c["name"],
            "type": c["type"],
            "key": c["key"] if with_key else None,
            "hold": c["hold"],
        }

    def _domain_json(self, d: Row) -> dict[str, Any]:
        dns_cfg = self.config.dns
        dkim_name = f"{dns_cfg.dkim_identifier}-{d['dkim_identifier_string']}._domainkey"
        statuses = {k: {"status": d.get(f"{k}_status"), "error": d.get(f"{k}_error")} for k in _CHECKS}
        dns_ok = (
            d.get("spf_status") == "OK"
            and d.get("dkim_status") == "OK"
            and d.get("mx_status") in ("OK", "Missing")
            and d.get("return_path_status") in ("OK", "Missing")
        )
        token = d.get("verification_token")
        return {
            "uuid": d["uuid"],
            "name": d["name"],
            "owner_type": d["owner_type"],
            "verification_method": d["verification_method"],
            "verification_token": token,
            "verification_record": f"{dns_cfg.domain_verify_prefix} {token}" if token else None,
            "verified": d.get("verified_at") is not None,
            "verified_at": d.get("verified_at"),
            "dkim_record_name": dkim_name,
            "dkim_record": keys.dkim_record(keys.load_private_pem(d["dkim_private_key"])),
            "spf_record": f"v=spf1 a mx include:{dns_cfg.spf_include} ~all",
            "spf_include": dns_cfg.spf_include,
            "return_path_name": dns_cfg.custom_return_path_prefix,
            "return_path_domain": f"{dns_cfg.custom_return_path_prefix}.{d['name']}",
            "return_path_target": dns_cfg.return_path_domain,
            "mx_records": list(dns_cfg.mx_records),
            "dns_checked_at": d.get("dns_checked_at"),
            "dns_ok": dns_ok,
            "checks": statuses,
        }

    @staticmethod
    def _webhook_json(w: Row) -> dict[str, Any]:
        fields = ("uuid", "name", "url", "all_events", "events", "enabled")
        return {k: w[k] for k in fields}

    # -- admin: users -------------------------------------------------------------------------------

    def ensure_user(self, email: str, body: dict[str, Any]) -> dict[str, Any]:
        if "@" not in email:
            raise _invalid("email_address", "is invalid")
        first, last = str(body.get("first_name") or ""), str(body.get("last_name") or "")
        if not first:
            raise _invalid("first_name", "can't be blank")
        if not last:
            raise _invalid("last_name", "can't be blank")
        password = body.get("password")
        admin = bool(body.get("admin", False))
        user = self._find("users", email_address=email)
        if password is not None and len(str(password)) < 8 and (user is None or body.get("reset_password")):
            raise _invalid("password", "is too short (minimum is 8 characters)")
        digest = hashlib.sha256(str(password).encode()).hexdigest() if password else None
        if user is None:
            if not password:
                raise _invalid("password", "can't be blank")
            row = {
                "uuid": str(uuidlib.uuid4()),
                "email_address": email,
                "first_name": first,
                "last_name": last,
                "admin": admin,
                "password_digest": digest,
                "email_verified_at": self.now(),
            }
            row["id"] = self.store.insert("users", row)
            return {"user": self._user_json(row), "result": "created"}
        wanted = {"first_name": first, "last_name": last, "admin": admin}
        if body.get("reset_password") and digest:
            wanted["password_digest"] = digest
        changed = any(user.get(k) != v for k, v in wanted.items())
        if changed:
            user.update(wanted)
            self.store.update("users", user["id"], user)
        return {"user": self._user_json(user), "result": "updated" if changed else "unchanged"}

    def get_user(self, email: str) -> dict[str, Any]:
        user = self._find("users", email_address=email)
        if user is None:
            raise _not_found("user", email)
        return {"user": self._user_json(user)}

    def list_users(self) -> dict[str, Any]:
        return {"users": [self._user_json(u) for u in _sorted(self.store.rows("users"), "email_address")]}

    # -- admin: organizations -----------------------------------------------------------------------

    def ensure_organization(self, permalink: str, body: dict[str, Any]) -> dict[str, Any]:
        if not PERMALINK.match(permalink) or permalink in ORG_RESERVED:
            raise _invalid("permalink", "is invalid: use a-z, 0-9 and '-', not a reserved word")
        name = str(body.get("name") or "")
        if not name:
            raise _invalid("name", "can't be blank")
        owner_email = str(body.get("owner_email_address") or "")
        if "@" not in owner_email:
            raise _invalid("owner_email_address", "is invalid")
        owner = self._find("users", email_address=owner_email)
        if owner is None:
            self.ensure_user(
                owner_email,
                {
                    "first_name": body.get("owner_first_name") or "Vibn",
                    "last_name": body.get("owner_last_name") or "Platform",
                    "password": random_string(32),
                },
            )
            owner = self._find("users", email_address=owner_email)
        assert owner is not None
        time_zone = str(body.get("time_zone") or "UTC")
        org = self._find("organizations", permalink=permalink)
        if org is None and any(o["permalink"] == permalink for o in self.store.rows("organizations")):
            # Postal's uniqueness validation also sees soft-deleted organizations.
            raise _invalid("permalink", "has already been taken")
        if org is None:
            row = {
                "uuid": str(uuidlib.uuid4()),
                "permalink": permalink,
                "name": name,
                "time_zone": time_zone,
                "owner_id": owner["id"],
                "deleted_at": None,
                "suspended_at": None,
            }
            row["id"] = self.store.insert("organizations", row)
            return {"organization": self._org_json(row), "result": "created"}
        wanted = {"name": name, "time_zone": time_zone, "owner_id": owner["id"]}
        changed = any(org.get(k) != v for k, v in wanted.items())
        if changed:
            org.update(wanted)
            self.store.update("organizations", org["id"], org)
        return {"organization": self._org_json(org), "result": "updated" if changed else "unchanged"}

    def get_organization(self, permalink: str) -> dict[str, Any]:
        return {"organization": self._org_json(self._org(permalink))}

    def list_organizations(self) -> dict[str, Any]:
        orgs = _sorted([o for o in self.store.rows("organizations") if o.get("deleted_at") is None], "permalink")
        return {"organizations": [self._org_json(o) for o in orgs]}

    def delete_organization(self, permalink: str) -> dict[str, Any]:
        org = self._find("organizations", permalink=permalink)
        if org is None:
            return {"deleted": False}
        for server in self._servers_of(org):
            self._soft_delete_server(server)
        org["deleted_at"] = self.now()
        self.store.update("organizations", org["id"], org)
        return {"deleted": True}

    # -- admin: servers -----------------------------------------------------------------------------

    def _servers_of(self, org: Row) -> list[Row]:
        rows = self.store.rows("servers")
        return _sorted(
            [s for s in rows if s["organization_id"] == org["id"] and s.get("deleted_at") is None],
            "permalink",
        )

    def ensure_server(self, org_permalink: str, permalink: str, body: dict[str, Any]) -> dict[str, Any]:
        org = self._org(org_permalink)
        if not PERMALINK.match(permalink) or permalink in SERVER_RESERVED:
            raise _invalid("permalink", "is invalid: use a-z, 0-9 and '-', not a reserved word")
        name = str(body.get("name") or "")
        if not name:
            raise _invalid("name", "can't be blank")
        mode = body.get("mode", "Live")
        if mode not in ("Live", "Development"):
            raise _invalid("mode", "is not included in the list (Live, Development)")
        server = self._find("servers", organization_id=org["id"], permalink=permalink)
        clash = next((s for s in self._servers_of(org) if s["name"].lower() == name.lower()), None)
        if clash is not None and (server is None or clash["id"] != server["id"]):
            raise _invalid("name", "has already been taken")
        siblings = [r for r in self.store.rows("servers") if r["organization_id"] == org["id"]]
        if server is None and any(r["permalink"] == permalink and r["deleted_at"] for r in siblings):
            raise _invalid("permalink", "has already been taken")
        if server is None:
            row = {
                "uuid": str(uuidlib.uuid4()),
                "organization_id": org["id"],
                "permalink": permalink,
                "name": name,
                "mode": mode,
                "token": random_string(6, string.ascii_lowercase),
                "deleted_at": None,
                "suspended_at": None,
            }
            row["id"] = self.store.insert("servers", row)
            # Postal's after_create: drop-and-create the message database.
            self.store.provision_message_db(row["id"])
            return {"server": self._server_json(row, org), "result": "created"}
        wanted = {"name": name, "mode": mode}
        changed = any(server.get(k) != v for k, v in wanted.items())
        if changed:
            server.update(wanted)
            self.store.update("servers", server["id"], server)
        return {"server": self._server_json(server, org), "result": "updated" if changed else "unchanged"}

    def get_server(self, org: str, server: str) -> dict[str, Any]:
        o, s = self._server(org, server)
        return {"server": self._server_json(s, o)}

    def list_servers(self, org: str) -> dict[str, Any]:
        o = self._org(org)
        return {"servers": [self._server_json(s, o) for s in self._servers_of(o)]}

    def _soft_delete_server(self, server: Row) -> None:
        server["deleted_at"] = self.now()
        self.store.update("servers", server["id"], server)

    def delete_server(self, org: str, server: str) -> dict[str, Any]:
        o = self._org(org)
        s = self._find("servers", organization_id=o["id"], permalink=server)
        if s is None:
            return {"deleted": False}
        self._soft_delete_server(s)
        return {"deleted": True}

    # -- admin: credentials -------------------------------------------------------------------------

    def _credentials_of(self, server: Row) -> list[Row]:
        return _sorted([c for c in self.store.rows("credentials") if c["server_id"] == server["id"]], "name")

    def ensure_credential(self, org: str, server: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        _, s = self._server(org, server)
        ctype = body.get("type")
        if ctype not in ("API", "SMTP"):
            raise _invalid("type", "must be API or SMTP")
        hold = bool(body.get("hold", False))
        cred = next((c for c in self._credentials_of(s) if c["name"] == name), None)
        if cred is None:
            row = {
                "uuid": str(uuidlib.uuid4()),
                "server_id": s["id"],
                "name": name,
                "type": ctype,
                "key": random_string(24),
                "hold": hold,
            }
            row["id"] = self.store.insert("credentials", row)
            return {"credential": self._credential_json(row, True), "result": "created"}
        if cred["type"] != ctype:
            raise AdminError(
                409,
                "Conflict",
                f"credential {name!r} exists with type {cred['type']}; delete it to change the type",
                "type",
            )
        changed = cred["hold"] != hold
        if changed:
            cred["hold"] = hold
            self.store.update("credentials", cred["id"], cred)
        return {
            "credential": self._credential_json(cred, True),
            "result": "updated" if changed else "unchanged",
        }

    def get_credential(self, org: str, server: str, name: str) -> dict[str, Any]:
        _, s = self._server(org, server)
        cred = next((c for c in self._credentials_of(s) if c["name"] == name), None)
        if cred is None:
            raise _not_found("credential", name)
        return {"credential": self._credential_json(cred, True)}

    def list_credentials(self, org: str, server: str) -> dict[str, Any]:
        _, s = self._server(org, server)
        return {"credentials": [self._credential_json(c, False) for c in self._credentials_of(s)]}

    def delete_credential(self, org: str, server: str, name: str) -> dict[str, Any]:
        _, s = self._server(org, server)
        cred = next((c for c in self._credentials_of(s) if c["name"] == name), None)
        if cred is None:
            return {"deleted": False}
        self.store.delete("credentials", cred["id"])
        return {"deleted": True}

    # -- admin: domains -----------------------------------------------------------------------------

    def _domains_of(self, owner_type: str, owner: Row) -> list[Row]:
        rows = self.store.rows("domains")
        return _sorted([d for d in rows if d["owner_type"] == owner_type and d["owner_id"] == owner["id"]], "name")

    def _domain(self, org: str, server: str | None, name: str) -> Row:
        owner_type, owner = self._owner(org, server)
        found = next((d for d in self._domains_of(owner_type, owner) if d["name"] == name), None)
        if found is None:
            raise _not_found("domain", name)
        return found

    def ensure_domain(self, org: str, server: str | None, name: str, body: dict[str, Any]) -> dict[str, Any]:
        owner_type, owner = self._owner(org, server)
        if not name or not DOMAIN_NAME.match(name):
            raise _invalid("name", "is invalid: use lower-case a-z, 0-9, '.' and '-'")
        method = body.get("verification_method", "DNS")
        if method not in ("DNS", "Email"):
            raise _invalid("verification_method", "is not included in the list (DNS, Email)")
        domain = next((d for d in self._domains_of(owner_type, owner) if d["name"] == name), None)
        result = "unchanged"
        if domain is None:
            taken = {d["dkim_identifier_string"] for d in self.store.rows("domains")}
            ident = random_string(6, string.ascii_uppercase)
            while ident in taken:
                ident = random_string(6, string.ascii_uppercase)
            domain = {
                "uuid": str(uuidlib.uuid4()),
                "owner_type": owner_type,
                "owner_id": owner["id"],
                "name": name,
                "verification_method": method,
                "verification_token": _verification_token(method),
                "verified_at": None,
                "dkim_identifier_string": ident,
                "dkim_private_key": keys.private_pem(keys.generate_rsa(1024)),
                "dns_checked_at": None,
                **{f"{k}_{f}": None for k in _CHECKS for f in ("status", "error")},
            }
            domain["id"] = self.store.insert("domains", domain)
            result = "created"
        elif domain["verification_method"] != method:
            domain["verification_method"] = method
            domain["verification_token"] = _verification_token(method)
            result = "updated"
        if body.get("verified") and domain.get("verified_at") is None:
            domain["verified_at"] = self.now()
            result = "created" if result == "created" else "updated"
        if result != "unchanged":
            self.store.update("domains", domain["id"], domain)
        return {"domain": self._domain_json(domain), "result": result}

    def get_domain(self, org: str, server: str | None, name: str) -> dict[str, Any]:
        return {"domain": self._domain_json(self._domain(org, server, name))}

    def list_domains(self, org: str, server: str | None) -> dict[str, Any]:
        owner_type, owner = self._owner(org, server)
        return {"domains": [self._domain_json(d) for d in self._domains_of(owner_type, owner)]}

    def delete_domain(self, org: str, server: str | None, name: str) -> dict[str, Any]:
        owner_type, owner = self._owner(org, server)
        found = next((d for d in self._domains_of(owner_type, owner) if d["name"] == name), None)
        if found is None:
            return {"deleted": False}
        self.store.delete("domains", found["id"])
        return {"deleted": True}

    def _lookup(self, name: str) -> Lookup:
        nameserver = self.settings.dns_nameserver
        if nameserver is None and self.config.postal.use_local_ns_for_domain_verification:
            import dns.resolver

            nameserver = str(dns.resolver.Resolver().nameservers[0])
        return DnsPythonLookup(name, nameserver=nameserver, port=self.settings.dns_port)

    def check_dns(self, org: str, server: str | None, name: str) -> dict[str, Any]:
        domain = self._domain(org, server, name)
        wire = self._domain_json(domain)
        expectations = DnsExpectations(
            name=domain["name"],
            dkim_record_name=wire["dkim_record_name"],
            dkim_record=wire["dkim_record"],
            spf_include=self.config.dns.spf_include,
            mx_records=tuple(self.config.dns.mx_records),
            return_path_prefix=self.config.dns.custom_return_path_prefix,
            return_path_target=self.config.dns.return_path_domain,
        )
        for key, check in check_all(expectations, self._lookup(domain["name"])).items():
            domain[f"{key}_status"], domain[f"{key}_error"] = check.status, check.error
        domain["dns_checked_at"] = self.now()
        self.store.update("domains", domain["id"], domain)
        return {"domain": self._domain_json(domain)}

    def verify_domain(self, org: str, server: str | None, name: str) -> dict[str, Any]:
        domain = self._domain(org, server, name)
        if domain["verification_method"] == "DNS" and domain.get("verified_at") is None:
            expected = f"{self.config.dns.domain_verify_prefix} {domain['verification_token']}"
            if expected in self._lookup(domain["name"]).txt(domain["name"]):
                domain["verified_at"] = self.now()
                self.store.update("domains", domain["id"], domain)
        return {"domain": self._domain_json(domain)}

    # -- admin: webhooks ----------------------------------------------------------------------------

    def _webhooks_of(self, server: Row) -> list[Row]:
        return _sorted([w for w in self.store.rows("webhooks") if w["server_id"] == server["id"]], "name")

    def ensure_webhook(self, org: str, server: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        _, s = self._server(org, server)
        url = str(body.get("url") or "")
        if not url:
            raise _invalid("url", "can't be blank")
        if not WEBHOOK_URL.match(url):
            raise _invalid("url", "is invalid: give an http(s) URL")
        events = body.get("events") or []
        unknown = [e for e in events if e not in WEBHOOK_EVENTS]
        if unknown:
            raise _invalid("events", f"has unknown events {unknown}; known: {', '.join(WEBHOOK_EVENTS)}")
        all_events = bool(body.get("all_events", True))
        wanted = {
            "url": url,
            "all_events": all_events,
            "events": [] if all_events else sorted(set(events)),
            "enabled": bool(body.get("enabled", True)),
        }
        hook = next((w for w in self._webhooks_of(s) if w["name"] == name), None)
        if hook is None:
            row = {"uuid": str(uuidlib.uuid4()), "server_id": s["id"], "name": name, **wanted}
            row["id"] = self.store.insert("webhooks", row)
            return {"webhook": self._webhook_json(row), "result": "created"}
        changed = any(hook.get(k) != v for k, v in wanted.items())
        if changed:
            hook.update(wanted)
            self.store.update("webhooks", hook["id"], hook)
        return {"webhook": self._webhook_json(hook), "result": "updated" if changed else "unchanged"}

    def get_webhook(self, org: str, server: str, name: str) -> dict[str, Any]:
        _, s = self._server(org, server)
        hook = next((w for w in self._webhooks_of(s) if w["name"] == name), None)
        if hook is None:
            raise _not_found("webhook", name)
        return {"webhook": self._webhook_json(hook)}

    def list_webhooks(self, org: str, server: str) -> dict[str, Any]:
        _, s = self._server(org, server)
        return {"webhooks": [self._webhook_json(w) for w in self._webhooks_of(s)]}

    def delete_webhook(self, org: str, server: str, name: str) -> dict[str, Any]:
        _, s = self._server(org, server)
        hook = next((w for w in self._webhooks_of(s) if w["name"] == name), None)
        if hook is None:
            return {"deleted": False}
        self.store.delete("webhooks", hook["id"])
        return {"deleted": True}

    # -- admin: misc --------------------------------------------------------------------------------

    def default_dkim_record(self) -> str:
        return keys.dkim_record(self.signing_key)

    def inventory(self) -> dict[str, Any]:
        orgs = []
        for org in self.list_organizations()["organizations"]:
            o = self._org(org["permalink"])
            servers = []
            for s in self._servers_of(o):
                servers.append(
                    {
                        "server": self._server_json(s, o),
                        "credentials": [self._credential_json(c, False) for c in self._credentials_of(s)],
                        "domains": [self._domain_json(d) for d in self._domains_of("Server", s)],
                        "webhooks": [self._webhook_json(w) for w in self._webhooks_of(s)],
                    }
                )
            domains = [self._domain_json(d) for d in self._domains_of("Organization", o)]
            orgs.append({"organization": org, "domains": domains, "servers": servers})
        return {"users": self.list_users()["users"], "organizations": orgs}

    # -- legacy API ---------------------------------------------------------------------------------

    def authenticate_api_key(self, key: str | None) -> tuple[Row, Row]:
        if not key:
            raise LegacyError("error", {"message": "Must be authenticated as a server.", "code": "AccessDenied"})
        cred = next((c for c in self.store.rows("credentials") if c["type"] == "API" and c["key"] == key), None)
        server = None
        if cred is not None:
            server = next((s for s in self.store.rows("servers") if s["id"] == cred["server_id"]), None)
        if cred is None or server is None or server.get("deleted_at") is not None:
            raise LegacyError(
                "error",
                {
                    "message": "The API token provided in X-Server-API-Key was not valid.",
                    "token": key,
                    "code": "InvalidServerAPIKey",
                },
            )
        if self._server_json(server)["suspended"]:
            raise _send_error("ServerSuspended")
        return cred, server

    def authenticated_domain(self, server: Row, address: str | None) -> Row | None:
        """Server#authenticated_domain_for_address: a verified domain of the server or its organization."""
        addr = _address(address)
        if not addr or "@" not in addr:
            return None
        domain_name = addr.split("@", 1)[1].lower()
        candidates = [
            d
            for d in self.store.rows("domains")
            if d.get("verified_at") is not None
            and d["name"] == domain_name
            and (
                (d["owner_type"] == "Server" and d["owner_id"] == server["id"])
                or (d["owner_type"] == "Organization" and d["owner_id"] == server["organization_id"])
            )
        ]
        # Postal orders by owner_type descending: a server's own domain wins over its organization's.
        candidates.sort(key=lambda d: d["owner_type"], reverse=True)
        return candidates[0] if candidates else None

    def send_message(self, cred: Row, server: Row, params: dict[str, Any]) -> dict[str, Any]:
        to, cc, bcc = (_addresses(params.get(k)) for k in ("to", "cc", "bcc"))
        errors: list[str] = []
        if not (to or cc or bcc):
            errors.append("NoRecipients")
        for values, code in (
            (to, "TooManyToAddresses"),
            (cc, "TooManyCCAddresses"),
            (bcc, "TooManyBCCAddresses"),
        ):
            if len(values) > MAX_RECIPIENTS:
                errors.append(code)
        if not params.get("plain_body") and not params.get("html_body"):
            errors.append("NoContent")
        if not params.get("from"):
            errors.append("FromAddressMissing")
        domain = self.authenticated_domain(server, params.get("from"))
        if domain is None:
            errors.append("UnauthenticatedFromAddress")
        attachments = [a for a in params.get("attachments") or [] if isinstance(a, dict)]
        for attachment in attachments:
            if not attachment.get("name"):
                errors.append("AttachmentMissingName")
            elif not attachment.get("data"):
                errors.append("AttachmentMissingData")
        if errors:
            raise _send_error(errors[0])
        assert domain is not None
        message_id = f"{uuidlib.uuid4()}@{self.config.dns.return_path_domain}"
        raw = _compose(params, to, cc, message_id, attachments)
        result: dict[str, Any] = {}
        for address in to + cc + bcc:
            rcpt = _address(address)
            if rcpt:
                result[rcpt] = self._store_message(
                    server,
                    cred,
                    domain,
                    rcpt,
                    _address(params["from"]),
                    raw,
                    tag=params.get("tag"),
                    bounce=bool(params.get("bounce")),
                )
        return {"message_id": message_id, "messages": result}

    def send_raw(self, cred: Row, server: Row, params: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(params.get("rcpt_to"), list):
            raise _parameter_error("`rcpt_to` parameter is required but is missing")
        if not params.get("mail_from"):
            raise _parameter_error("`mail_from` parameter is required but is missing")
        if not params.get("data"):
            raise _parameter_error("`data` parameter is required but is missing")
        raw = base64.b64decode(str(params["data"]))
        parsed = message_from_bytes(raw, policy=policy.default)
        froms = [a for _, a in getaddresses([str(v) for v in parsed.get_all("From", [])])]
        domains = [self.authenticated_domain(server, a) for a in froms]
        domain = domains[0] if froms and all(domains) else None
        if domain is None:
            raise _send_error("UnauthenticatedFromAddress")
        out: dict[str, Any] = {"message_id": None, "messages": {}}
        for rcpt in dict.fromkeys(str(r) for r in params["rcpt_to"]):
            ref = self._store_message(
                server,
                cred,
                domain,
                rcpt,
                str(params["mail_from"]),
                raw,
                tag=None,
                bounce=bool(params.get("bounce")),
            )
            if out["message_id"] is None:
                out["message_id"] = (parsed.get("Message-ID") or "").strip().strip("<>") or None
            out["messages"][rcpt] = ref
        return out

    def _store_message(
        self,
        server: Row,
        cred: Row | None,
        domain: Row | None,
        rcpt: str,
        mail_from: str | None,
        raw: bytes,
        *,
        tag: str | None,
        bounce: bool,
        scope: str = "outgoing",
    ) -> dict[str, Any]:
        parsed = message_from_bytes(raw, policy=policy.default)
        row = {
            "token": random_string(16),
            "scope": scope,
            "rcpt_to": rcpt,
            "mail_from": mail_from,
            "subject": str(parsed.get("Subject") or "") or None,
            "message_id": (str(parsed.get("Message-ID") or "").strip().strip("<>")) or None,
            "timestamp": self.now(),
            "tag": tag,
            "bounce": bounce,
            "size": str(len(raw)),
            "raw_message": base64.b64encode(raw).decode(),
            "status": "Pending",
            "held": False,
            "last_delivery_attempt": None,
            "received_with_ssl": True,
            "credential_id": cred["id"] if cred else None,
            "domain_id": domain["id"] if domain else None,
        }
        message_id = self.store.add_message(server["id"], row)
        self.store.insert("queued_messages", {"server_id": server["id"], "message_id": message_id})
        return {"id": message_id, "token": row["token"]}

    def _message(self, server: Row, params: dict[str, Any]) -> Row:
        raw_id = params.get("id")
        if raw_id is None or raw_id == "":
            raise _parameter_error("`id` parameter is required but is missing")
        if not isinstance(raw_id, str | int) or isinstance(raw_id, bool):
            raise _parameter_error("`id` parameter must be a string or integer")
        try:
            message_id = int(raw_id)
        except ValueError:
            message_id = 0
        try:
            found = self.store.get_message(server["id"], message_id)
        except MessageDatabaseMissing:
            found = None
        if found is None:
            raise LegacyError(
                "error",
                {
                    "message": "No message found matching provided ID",
                    "id": raw_id,
                    "code": "MessageNotFound",
                },
            )
        return found

    def message(self, server: Row, params: dict[str, Any]) -> dict[str, Any]:
        msg = self._message(server, params)
        exp = params.get("_expansions")

        def want(name: str) -> bool:
            return exp is True or (isinstance(exp, list) and name in exp)

        raw = base64.b64decode(msg["raw_message"])
        parsed = message_from_bytes(raw, policy=policy.default)
        out: dict[str, Any] = {"id": msg["id"], "token": msg["token"]}
        if want("status"):
            out["status"] = {
                "status": msg["status"],
                "last_delivery_attempt": msg["last_delivery_attempt"],
                "held": msg["held"],
                "hold_expiry": None,
            }
        if want("details"):
            out["details"] = {
                "rcpt_to": msg["rcpt_to"],
                "mail_from": msg["mail_from"],
                "subject": msg["subject"],
                "message_id": msg["message_id"],
                "timestamp": msg["timestamp"],
                "direction": msg["scope"],
                "size": msg["size"],
                "bounce": msg["bounce"],
                "bounce_for_id": None,
                "bounce_type": None,
                "tag": msg["tag"],
                "received_with_ssl": msg["received_with_ssl"],
            }
        if want("inspection"):
            out["inspection"] = {
                "inspected": False,
                "spam": False,
                "spam_score": 0.0,
                "threat": False,
                "threat_details": None,
            }
        if want("plain_body"):
            out["plain_body"] = _body(parsed, "plain")
        if want("html_body"):
            out["html_body"] = _body(parsed, "html")
        if want("attachments"):
            out["attachments"] = (
                [_attachment_json(p) for p in parsed.iter_attachments()] if parsed.is_multipart() else []
            )
        if want("headers"):
            headers: dict[str, list[str]] = {}
            for key, value in parsed.items():
                headers.setdefault(key.lower(), []).append(str(value))
            out["headers"] = headers
        if want("raw_message"):
            out["raw_message"] = base64.encodebytes(raw).decode()
        if want("activity_entries"):
            out["activity_entries"] = {"loads": [], "clicks": []}
        return out

    def deliveries(self, server: Row, params: dict[str, Any]) -> list[dict[str, Any]]:
        msg = self._message(server, params)
        rows = self.store.deliveries(server["id"], msg["id"])
        fields = ("id", "status", "details", "output", "sent_with_ssl", "log_id", "time", "timestamp")
        return [{k: d.get(k) for k in fields} for d in rows]

    # -- SMTP ---------------------------------------------------------------------------------------

    def authenticate_smtp(self, password: str) -> tuple[Row, Row] | None:
        cred = next((c for c in self.store.rows("credentials") if c["type"] == "SMTP" and c["key"] == password), None)
        if cred is None:
            return None
        server = next((s for s in self.store.rows("servers") if s["id"] == cred["server_id"]), None)
        return None if server is None or server.get("deleted_at") is not None else (cred, server)

    def accept_smtp(self, cred: Row, server: Row, mail_from: str, rcpts: list[str], raw: bytes) -> str | None:
        """Store an authenticated submission; returns an SMTP error text when the From is not authorised."""
        parsed = message_from_bytes(raw, policy=policy.default)
        froms = [a for _, a in getaddresses([str(v) for v in parsed.get_all("From", [])])]
        domain = self.authenticated_domain(server, froms[0]) if froms else None
        if domain is None:
            return "530 From/Sender name is not valid"
        for rcpt in rcpts:
            self._store_message(server, cred, domain, rcpt, mail_from, raw, tag=None, bounce=False)
        return None

    # -- worker -------------------------------------------------------------------------------------

    def process_queue(self) -> int:
        """'Deliver' queued messages: the emulator never relays mail; it records the outcome Postal would
        report (Sent on Live servers, Held on Development ones) and fires the matching webhook."""
        done = 0
        for queued in self.store.rows("queued_messages"):
            server = next((s for s in self.store.rows("servers") if s["id"] == queued["server_id"]), None)
            self.store.delete("queued_messages", queued["id"])
            if server is None:
                continue
            try:
                msg = self.store.get_message(server["id"], queued["message_id"])
            except MessageDatabaseMissing:
                continue
            if msg is None:
                continue
            held = server["mode"] == "Development"
            status = "Held" if held else "Sent"
            details = (
                "Server is in development mode."
                if held
                else f"Message for {msg['rcpt_to']} accepted by the Postal emulator (not relayed)"
            )
            now = self.now()
            msg.update({"status": status, "held": held, "last_delivery_attempt": now})
            self.store.update_message(server["id"], msg["id"], msg)
            delivery = {
                "status": status,
                "details": details,
                "output": "250 OK" if not held else None,
                "sent_with_ssl": False,
                "log_id": random_string(8).upper(),
                "time": 0.0,
                "timestamp": now,
            }
            self.store.add_delivery(server["id"], msg["id"], delivery)
            self.trigger_webhook(
                server,
                "MessageHeld" if held else "MessageSent",
                {
                    "message": {
                        "id": msg["id"],
                        "token": msg["token"],
                        "direction": msg["scope"],
                        "message_id": msg["message_id"],
                        "to": msg["rcpt_to"],
                        "from": msg["mail_from"],
                        "subject": msg["subject"],
                        "timestamp": msg["timestamp"],
                        "spam_status": "NotChecked",
                        "tag": msg["tag"],
                    },
                    "status": status,
                    "details": details,
                    "output": delivery["output"],
                    "sent_with_ssl": False,
                    "timestamp": now,
                    "time": 0.0,
                },
            )
            done += 1
        return done

    def trigger_webhook(self, server: Row, event: str, payload: dict[str, Any]) -> int:
        hooks = [w for w in self._webhooks_of(server) if w["enabled"] and (w["all_events"] or event in w["events"])]
        for hook in hooks:
            self.store.insert(
                "webhook_requests",
                {
                    "server_id": server["id"],
                    "webhook_id": hook["id"],
                    "url": hook["url"],
                    "event": event,
                    "uuid": str(uuidlib.uuid4()),
                    "payload": payload,
                    "attempts": 0,
                    "retry_after": None,
                    "created_at": self.now(),
                },
            )
        return len(hooks)

    def webhook_body(self, request: Row) -> bytes:
        body = {
            "event": request["event"],
            "timestamp": request["created_at"],
            "payload": request["payload"],
            "uuid": request["uuid"],
        }
        return json.dumps(body, separators=(",", ":")).encode()

    def deliver_webhooks(self, post: Callable[[str, bytes, dict[str, str]], int]) -> int:
        """Send due webhook requests with Postal's headers; reschedule failures per Postal's RETRIES.

        ``post(url, body, headers)`` returns the HTTP status (0 when no answer came)."""
        sent = 0
        for request in self.store.rows("webhook_requests"):
            if request["retry_after"] is not None and request["retry_after"] > self.now():
                continue
            body = self.webhook_body(request)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": f"Postal/{VERSION}",
                **keys.sign_headers(self.signing_key, body),
            }
            status = post(request["url"], body, headers)
            request["attempts"] += 1
            sent += 1
            delay = WEBHOOK_RETRY_MINUTES.get(request["attempts"])
            if 200 <= status < 300 or delay is None:
                self.store.delete("webhook_requests", request["id"])
                continue
            request["retry_after"] = self.now() + delay * 60 * self.settings.time_scale
            self.store.update("webhook_requests", request["id"], request)
        return sent


_CHECKS = ("spf", "dkim", "mx", "return_path")


def _sorted(rows: list[Row], key: str) -> list[Row]:
    """The order the Ruby admin API lists in (``order(:name)`` and friends)."""
    return sorted(rows, key=lambda r: str(r[key]))


def _verification_token(method: str) -> str:
    return random_string(32) if method == "DNS" else str(secrets.randbelow(999_999)).ljust(6, "0")


def _compose(params: dict[str, Any], to: list[str], cc: list[str], message_id: str, attachments: list[Row]) -> bytes:
    msg = EmailMessage()
    headers = params.get("headers")
    if isinstance(headers, dict):
        for key, value in headers.items():
            msg[str(key)] = str(value)
    if to:
        msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["From"] = str(params["from"])
    for header, key in (("Sender", "sender"), ("Subject", "subject"), ("Reply-To", "reply_to")):
        if params.get(key):
            msg[header] = str(params[key])
    msg["Message-ID"] = f"<{message_id}>"
    if params.get("plain_body"):
        msg.set_content(str(params["plain_body"]))
    if params.get("html_body"):
        if params.get("plain_body"):
            msg.add_alternative(str(params["html_body"]), subtype="html")
        else:
            msg.set_content(str(params["html_body"]), subtype="html")
    for attachment in attachments:
        maintype, _, subtype = str(attachment.get("content_type") or "application/octet-stream").partition("/")
        msg.add_attachment(
            base64.b64decode(str(attachment["data"])),
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=str(attachment["name"]),
        )
    return msg.as_bytes()


def _body(parsed: Any, kind: str) -> str | None:
    part = parsed.get_body(preferencelist=(kind,))
    return None if part is None else str(part.get_content())


def _attachment_json(part: Any) -> dict[str, Any]:
    data = part.get_payload(decode=True) or b""
    return {
        "filename": part.get_filename() or "",
        "content_type": part.get_content_type(),
        "data": base64.encodebytes(data).decode(),
        "size": len(data),
        "hash": hashlib.sha1(data).hexdigest(),
    }
