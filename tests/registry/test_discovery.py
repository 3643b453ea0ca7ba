"""Discovery reads metadata only, classifies clashes and incompatible plugins."""
from __future__ import annotations

import sys

import pytest

from segdet.registry import api_compatible, components, discover, refresh

from .fake_dists import activate, deactivate, write_dist

BROKEN = "raise RuntimeError('this module must not be imported by a listing')\n"


@pytest.fixture
def site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    yield site
    deactivate(site)


def test_core_builtins_are_registered_through_entry_points():
    names = {(i.group, i.name) for i in discover() if i.distribution == "segdet"}
    assert ("segdet.detectors", "RetinaNet") in names
    assert ("segdet.task_modules", "AnchorGenerator") in names
    info = next(i for i in discover() if i.name == "RetinaNet")
    assert info.display_name == f"RetinaNet (segdet {info.version})"
    assert info.target == "segdet.models.detectors.single_stage:RetinaNet"


def test_listing_reads_metadata_without_importing(site, monkeypatch):
    write_dist(site, "segdet-neck-fake", "1.2.3", {"segdet.necks": {"FakeNeck": "fake_neck_mod:FakeNeck"}},
               {"fake_neck_mod": BROKEN})
    activate(site, monkeypatch)
    infos = components("necks")
    fake = [i for i in infos if i.name == "FakeNeck"]
    assert len(fake) == 1
    assert fake[0].distribution == "segdet-neck-fake"
    assert fake[0].version == "1.2.3"
    assert fake[0].state == "ok"
    assert fake[0].display_name == "FakeNeck (segdet-neck-fake 1.2.3)"
    assert "fake_neck_mod" not in sys.modules


def test_scan_is_cached_until_refresh(site, monkeypatch):
    first = discover()
    monkeypatch.syspath_prepend(str(site))
    write_dist(site, "segdet-late", "0.1", {"segdet.necks": {"LateNeck": "late:LateNeck"}})
    assert discover() is first
    assert not any(i.name == "LateNeck" for i in discover())
    refresh()
    assert any(i.name == "LateNeck" for i in discover())


def test_same_name_from_two_distributions_is_a_clash(site, monkeypatch):
    write_dist(site, "segdet-neck-a", "0.1", {"segdet.necks": {"Twin": "a_mod:Twin"}})
    write_dist(site, "segdet-neck-b", "0.2", {"segdet.necks": {"Twin": "b_mod:Twin"}})
    activate(site, monkeypatch)
    twins = [i for i in components("necks") if i.name == "Twin"]
    assert {i.distribution for i in twins} == {"segdet-neck-a", "segdet-neck-b"}
    assert {i.state for i in twins} == {"clash"}


def test_incompatible_plugin_is_marked(site, monkeypatch):
    write_dist(site, "segdet-neck-future", "3.0", {"segdet.necks": {"Future": "f:Future"}}, api="2.0")
    activate(site, monkeypatch)
    (info,) = [i for i in components("necks") if i.name == "Future"]
    assert info.state == "incompatible"
    assert info.api == "2.0"


def test_groups_outside_segdet_are_ignored(site, monkeypatch):
    write_dist(site, "other-tool", "1.0", {"console_scripts": {"x": "y:z"}, "segdet.nonsense": {"A": "b:c"}},
               api=None)
    activate(site, monkeypatch)
    assert not any(i.distribution == "other-tool" for i in components())


@pytest.mark.parametrize(
    ("required", "ok"),
    [("1.0", True), ("1.1", False), ("0.9", False), ("2.0", False), ("", True), ("x", False)],
)
def test_api_compatibility_rule(required, ok):
    assert api_compatible(required, "1.0") is ok
    assert api_compatible("1.0", "1.3") is True
