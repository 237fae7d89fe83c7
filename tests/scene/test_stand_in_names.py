"""Stand-in name tags (renders, goldens, the demo) carry names that fit their delegation: Japan's
stand-in delegates Japanese family names and initials, Kenya's Kenyan ones; every UN member
state is mapped to a naming tradition in ``assets/data/stand_in_names.json``. Fails on main
2f3c005: one mixed pool served every delegation ("N. Lindqvist, Japan" in the bilateral golden)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vrdiplomacy.errors import AssetError
from vrdiplomacy.scene.avatars import (
    MIXED_POOL,
    SAMPLE_FAMILY,
    avatar_at,
    load_stand_in_names,
    roster_tag,
    sample_tags,
    stand_in_name,
)
from vrdiplomacy.scene.crowd import Crowd
from vrdiplomacy.scene.delegations import load_delegations


def _tagged(delegations: list[str], first_id: int = 5) -> Crowd:
    avatars = [avatar_at(first_id + i, d, (0.75 * i, 0.0, 1.15), 0.0) for i, d in enumerate(delegations)]
    return sample_tags(Crowd.from_avatars(avatars))


def test_a_japanese_delegations_stand_ins_have_japanese_names() -> None:
    japanese = load_stand_in_names().traditions["japanese"]
    crowd = _tagged(["JPN"] * 6 + ["Japan"])  # a code or the name, as a placard says it
    tags = [crowd.tag(i) for i in range(len(crowd))]
    assert all(t is not None for t in tags)
    names = [t.name for t in tags if t is not None]
    for name in names:
        initial, family = name.split(". ", 1)
        assert family in japanese.family and initial in japanese.initials, name
    assert len({n.split(". ", 1)[1] for n in names[:6]}) == 6  # six delegates, six families
    assert not {n.split(". ", 1)[1] for n in names} & {"Lindqvist", "Okafor", "Castellanos", "Kowalski"}


def test_each_delegation_gets_its_own_traditions_names_deterministically() -> None:
    names = load_stand_in_names()
    for code, tradition in (("KEN", "kenyan"), ("FRA", "french"), ("SWE", "swedish"), ("EGY", "egyptian"),
                            ("BRA", "lusophone"), ("KOR", "korean"), ("MEX", "hispanic"), ("NGA", "nigerian")):
        pool = names.traditions[tradition]
        for k in range(12):
            name = stand_in_name(k, code)
            assert name.split(". ", 1)[1] in pool.family, (code, name)
            assert name == stand_in_name(k, code)  # the same on every run


def test_every_delegation_maps_to_a_tradition_and_the_unknown_to_the_mixed_pool() -> None:
    names = load_stand_in_names()
    codes = {d.code for d in load_delegations()}
    assert len(codes) == 193
    assert set(names.delegations) == codes  # all 193, and no made-up code
    assert all(names.pool(c) is not MIXED_POOL for c in codes)
    assert all(len(p.family) >= 12 for p in names.traditions.values())
    # a delegation the table does not know ("Delegate 3", a test's "Testland") keeps the mixed pool
    assert names.pool("Testland") is MIXED_POOL
    assert stand_in_name(0, "Delegate 1").split(". ", 1)[1] in SAMPLE_FAMILY


def test_a_rosters_names_are_never_replaced() -> None:
    crowd = Crowd.from_avatars([avatar_at(1, "JPN", (0.0, 0.0, 0.0), 0.0)])
    crowd.set_tag(0, roster_tag("Jane Doe", "JPN", "Counsellor", verified=True))
    assert (tag := crowd.tag(0)) is not None and tag.name == "Jane Doe"


@pytest.mark.parametrize("bad, words", [
    ({"traditions": {"x": {"label": "X", "initials": "AB", "family": ["Müller"]}}, "delegations": {}}, "ASCII"),
    ({"traditions": {"x": {"label": "X", "initials": "AB", "family": []}}, "delegations": {}}, "family names"),
    ({"traditions": {}, "delegations": {"JPN": "japanese"}}, "unknown traditions"),
    ({"traditions": {"x": {"label": "X"}}, "delegations": {}}, "malformed"),
])
def test_a_malformed_names_file_is_a_clear_asset_error(tmp_path: Path, bad: dict[str, object], words: str) -> None:
    p = tmp_path / "names.json"
    p.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(AssetError, match=words):
        load_stand_in_names(p)
    with pytest.raises(AssetError, match="not found"):
        load_stand_in_names(tmp_path / "missing.json")
