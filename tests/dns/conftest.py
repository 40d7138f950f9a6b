from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dns.cases import all_zones
from tests.dns.knot import Knot, run_knot
from vibn_mail.checks.resolver import Resolver


@pytest.fixture(scope="session")
def knot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Knot]:
    workdir: Path = tmp_path_factory.mktemp("knot")
    with run_knot(workdir, all_zones()) as server:
        yield server


@pytest.fixture
def resolver(knot: Knot) -> Resolver:
    return Resolver.given([knot.host], port=knot.port, timeout=2.0)
