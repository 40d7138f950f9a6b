"""DMARC records (RFC 9989, which obsoleted RFC 7489): parsing and repair.

RFC 9989 removed ``pct``, ``rf`` and ``ri`` and added ``np``, ``psd`` and ``t``. Receivers ignore tags
they don't know, so an obsolete or unknown tag is a warning, never an error; a bad ``v``/``p``
value makes the record unusable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vibn_mail.checks.tags import parse_tags, render_tags

POLICIES = ("none", "quarantine", "reject")
KNOWN_TAGS = frozenset({"v", "p", "sp", "np", "adkim", "aspf", "rua", "ruf", "fo", "t", "psd"})
OBSOLETE_TAGS = frozenset({"pct", "rf", "ri"})
_VALUES: dict[str, tuple[str, ...]] = {
    "p": POLICIES,
    "sp": POLICIES,
    "np": POLICIES,
    "adkim": ("r", "s"),
    "aspf": ("r", "s"),
    "t": ("y", "n"),
    "psd": ("y", "n", "u"),
}


@dataclass
class Dmarc:
    tags: dict[str, str]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def policy(self) -> str | None:
        return self.tags.get("p")

    def rua(self) -> list[str]:
        """Aggregate report addresses (the part after ``mailto:``, size suffix dropped)."""
        out = []
        for uri in self.tags.get("rua", "").split(","):
            uri = uri.strip()
            if uri.lower().startswith("mailto:"):
                out.append(uri[7:].split("!", 1)[0])
        return out


def is_dmarc(text: str) -> bool:
    return text.replace(" ", "").startswith("v=DMARC1")


def parse(text: str) -> Dmarc:
    try:
        tags = parse_tags(text)
    except ValueError as e:
        return Dmarc({}, errors=[str(e)])
    out = Dmarc(tags)
    if next(iter(tags), None) != "v" or tags.get("v") != "DMARC1":
        out.errors.append("the record must start with v=DMARC1")
    if "p" not in tags:
        out.errors.append("tag p (policy) is missing")
    for key, allowed in _VALUES.items():
        if key in tags and tags[key].lower() not in allowed:
            (out.errors if key == "p" else out.warnings).append(f"{key}={tags[key]} is not one of {'|'.join(allowed)}")
    for key in tags:
        if key in OBSOLETE_TAGS:
            out.warnings.append(f"{key}= was removed by RFC 9989 and is ignored")
        elif key not in KNOWN_TAGS:
            out.warnings.append(f"unknown tag {key}= is ignored")
    for addr in out.rua():
        if "@" not in addr:
            out.warnings.append(f"rua address {addr!r} is not an email address")
    return out


def repaired(text: str | None, rua: str | None) -> str:
    """A valid record keeping every usable tag of ``text`` (policy ``none`` when it had none usable)."""
    tags: dict[str, str] = {}
    if text is not None:
        try:
            tags = parse_tags(text)
        except ValueError:
            tags = {}
    out = {"v": "DMARC1", "p": tags.get("p", "none").lower()}
    if out["p"] not in POLICIES:
        out["p"] = "none"
    for key, value in tags.items():
        if key in ("v", "p") or key not in KNOWN_TAGS:
            continue
        if key in _VALUES and value.lower() not in _VALUES[key]:
            continue
        out[key] = value
    if "rua" not in out and rua:
        out["rua"] = f"mailto:{rua}"
    return render_tags(out)
