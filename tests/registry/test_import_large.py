"""Ten thousand rows through the command line: bulk statements, not one query per row."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from ktt_market.core import places
from ktt_market.extensions import db
from ktt_market.registry.models import Unit

from .conftest import csv_bytes, row

ROWS = 10_000


def big_file() -> bytes:
    wards = list(places.wards_of(86))
    rng = random.Random(86)
    kinds = ["THT", "HTX", "HTX", "HTX", "LHHTX", "QTDND"]
    rows = [
        row(
            f"86-{n:06d}",
            name=f"Hợp tác xã số {n}",
            kind=rng.choice(kinds),
            sector=rng.choice(["agriculture", "non_agriculture"]),
            founded_on=f"{rng.randint(1995, 2023)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            ward_code=rng.choice(wards),
            members=rng.randint(0, 500),
            charter_capital_vnd=rng.randint(0, 5_000) * 1_000_000,
        )
        for n in range(ROWS)
    ]
    return csv_bytes(rows)


def test_ten_thousand_rows_import_and_reimport(app, runner, tmp_path):
    path = tmp_path / "registry-86.csv"
    path.write_bytes(big_file())

    first = runner.invoke(args=["registry", "import", str(path), "--province", "86", "--lang", "en"])
    assert first.exit_code == 0, first.output
    assert f"created {ROWS}, updated 0, unchanged 0" in first.stdout
    with app.app_context():
        assert db.session.scalar(select(func.count(Unit.id)).where(Unit.province_code == 86)) == ROWS

    second = runner.invoke(args=["registry", "import", str(path), "--province", "86", "--lang", "en"])
    assert second.exit_code == 0, second.output
    assert f"created 0, updated 0, unchanged {ROWS}" in second.stdout
