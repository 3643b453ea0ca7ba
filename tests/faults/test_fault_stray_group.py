"""A plugin whose entry-point group is misspelled (``segdet.neck``) is not invisible: ``doctor`` fails
and ``list-components`` warns, both naming the distribution, the group and the closest known group."""
from __future__ import annotations

from pathlib import Path

from fault_helpers import run_segdet

from segdet.registry import discovery


def _typo_plugin(site: Path) -> Path:
    info = site / "segdet_neck_typo-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: segdet-neck-typo\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(
        "[segdet.neck]\nTypoFPN = segdet_neck_typo:TypoFPN\n\n[segdet.plugin_api]\n1.0 = segdet_neck_typo\n")
    return site


def test_fault_doctor_and_list_warn_about_misspelled_group(tmp_path):
    site = _typo_plugin(tmp_path / "site")
    env = {"PYTHONPATH": str(site)}
    doctor = run_segdet("doctor", cwd=tmp_path, env=env)
    assert doctor.returncode != 0
    assert "Traceback" not in doctor.stdout + doctor.stderr
    for part in ("segdet-neck-typo", "'segdet.neck'", "did you mean 'segdet.necks'", "TypoFPN"):
        assert part in doctor.stderr, doctor.stderr
    listing = run_segdet("list-components", "--group", "necks", cwd=tmp_path, env=env)
    assert listing.returncode == 0
    assert "unknown group 'segdet.neck'" in listing.stderr and "'segdet.necks'" in listing.stderr
    assert "FPN" in listing.stdout and "TypoFPN" not in listing.stdout


def test_stray_groups_from_metadata_only(tmp_path, monkeypatch):
    site = _typo_plugin(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    discovery.refresh()
    try:
        stray = [s for s in discovery.stray_groups() if s.distribution == "segdet-neck-typo"]
        assert stray == [discovery.StrayGroup("segdet-neck-typo", "0.1.0", "segdet.neck", ("TypoFPN",),
                                              "segdet.necks")]
        assert not any(i.name == "TypoFPN" for i in discovery.components())
    finally:
        discovery.refresh()
