"""Tag-value lists (``v=DKIM1; k=rsa; p=...``) as DKIM (RFC 6376 §3.2) and DMARC records use them."""

from __future__ import annotations


def parse_tags(text: str) -> dict[str, str]:
    """Tags in order of appearance; raises ValueError on a tag without ``=`` or a repeated tag."""
    out: dict[str, str] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ValueError(f"'{part}' is not a tag=value pair")
        key, value = part.split("=", 1)
        key = key.strip()
        if key in out:
            raise ValueError(f"tag '{key}' appears twice")
        out[key] = "".join(value.split()) if key == "p" else value.strip()
    return out


def render_tags(tags: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in tags.items())
