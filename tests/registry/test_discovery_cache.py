"""The on-disk discovery cache: right after installs and removals, ignored when corrupt, never used to build."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from segdet.registry import discovery, find_info, scan_cache

from .fake_dists import write_dist

SEGDET = str(Path(sys.executable).with_name("segdet"))


def _listing(site: Path, cache: Path, *args: str, **extra_env: str) -> dict[str, str]:
    """``segdet list-components --json`` in a subprocess with ``site`` on its path: name -> distribution."""
    env = {k: v for k, v in os.environ.items() if k != "SEGDET_NO_CACHE"}
    env.update(SEGDET_CACHE_DIR=str(cache), **extra_env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    proc = subprocess.run([SEGDET, "list-components", "--json", *args], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return {row["name"]: row["distribution"] for row in json.loads(proc.stdout)}


def _cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("discovery-*.json"))


@pytest.fixture
def cached_env(tmp_path, monkeypatch):
    """In-process: a private cache folder and a fake site folder on sys.path; the scan forgotten after."""
    monkeypatch.setenv("SEGDET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SEGDET_NO_CACHE", raising=False)
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    discovery.refresh()
    yield site, tmp_path / "cache"
    discovery.refresh()


def test_listing_follows_installs_and_removals_across_processes(tmp_path):
    site, cache = tmp_path / "site", tmp_path / "cache"
    write_dist(site, "segdet-neck-one", "0.1", {"segdet.necks": {"OneNeck": "one_mod:OneNeck"}})
    first = _listing(site, cache)
    assert first["OneNeck"] == "segdet-neck-one" and "FPN" in first
    assert len(_cache_files(cache)) == 1
    assert _listing(site, cache) == first  # from the cache: same answer

    write_dist(site, "segdet-neck-two", "0.2", {"segdet.necks": {"TwoNeck": "two_mod:TwoNeck"}})
    second = _listing(site, cache)
    assert second["TwoNeck"] == "segdet-neck-two" and second["OneNeck"] == "segdet-neck-one"

    shutil.rmtree(site / "segdet_neck_two-0.2.dist-info")
    third = _listing(site, cache)
    assert "TwoNeck" not in third and third == first

    # a reinstall under the same folder name with other entry points (pip install -e after editing a pyproject)
    shutil.rmtree(site / "segdet_neck_one-0.1.dist-info")
    write_dist(site, "segdet-neck-one", "0.1", {"segdet.necks": {"RenamedNeck": "one_mod:RenamedNeck"}})
    fourth = _listing(site, cache)
    assert "OneNeck" not in fourth and fourth["RenamedNeck"] == "segdet-neck-one"

    # entry_points.txt edited in place, the folder untouched
    ep = site / "segdet_neck_one-0.1.dist-info" / "entry_points.txt"
    ep.write_text(ep.read_text().replace("RenamedNeck =", "EditedNeckName ="))
    fifth = _listing(site, cache)
    assert "RenamedNeck" not in fifth and fifth["EditedNeckName"] == "segdet-neck-one"


def test_no_cache_flag_and_variable_neither_read_nor_write(tmp_path):
    site, cache = tmp_path / "site", tmp_path / "cache"
    write_dist(site, "segdet-neck-one", "0.1", {"segdet.necks": {"OneNeck": "one_mod:OneNeck"}})
    assert "OneNeck" in _listing(site, cache, "--no-cache")
    assert "OneNeck" in _listing(site, cache, SEGDET_NO_CACHE="1")
    assert _cache_files(cache) == []


def test_cache_is_used_for_listing_but_never_for_building(cached_env):
    site, cache = cached_env
    discovery.discover(cached=True)  # writes the cache
    (path,) = _cache_files(cache)
    data = json.loads(path.read_text())
    (row,) = [row for row in data["payload"]["components"] if row[:2] == ["segdet.necks", "FPN"]]
    real = row[4]
    row[4] = "os:system"  # a tampered cache names other code
    path.write_text(json.dumps(data))
    discovery.refresh()
    listed = [i for i in discovery.components("necks", cached=True) if i.name == "FPN"]
    assert [i.target for i in listed] == ["os:system"]  # the listing did come from the cache
    assert find_info("FPN", "necks").target == real  # building scans the metadata itself
    assert [i.target for i in discovery.components("necks", cached=True) if i.name == "FPN"] == [real]


@pytest.mark.parametrize("content", ["{not json", "", "[1, 2]", '{"format": 1}', "CORRUPT"])
def test_corrupt_cache_file_is_ignored_and_rewritten(cached_env, content):
    site, cache = cached_env
    write_dist(site, "segdet-neck-one", "0.1", {"segdet.necks": {"OneNeck": "one_mod:OneNeck"}})
    discovery.discover(cached=True)
    (path,) = _cache_files(cache)
    path.write_text(content)
    discovery.refresh()
    assert any(i.name == "OneNeck" for i in discovery.discover(cached=True))
    assert json.loads(path.read_text())["format"] == scan_cache.FORMAT


def test_cache_rows_of_the_wrong_shape_are_ignored(cached_env):
    site, cache = cached_env
    write_dist(site, "segdet-neck-one", "0.1", {"segdet.necks": {"OneNeck": "one_mod:OneNeck"}})
    expected = list(discovery.discover(cached=True))
    (path,) = _cache_files(cache)
    data = json.loads(path.read_text())
    good = data["payload"]
    bad_rows = ([["segdet.necks", "X"]], [["segdet.necks", "X", "d", "1", 5, "ok", ""]], "rows", None,
                [dict.fromkeys("abcdefg", "x")])
    bad_stray = ([["d", "1", "segdet.neck", "TypoFPN", None]], [["d", "1", "segdet.neck", ["T"], 3]], [None])
    for payload in ([{**good, "components": rows} for rows in bad_rows] + [{**good, "stray": st} for st in bad_stray]
                    + [None, [], "payload", {"components": good["components"]}]):
        data["payload"] = payload
        path.write_text(json.dumps(data))
        discovery.refresh()
        assert discovery.discover(cached=True) == expected, payload
        assert discovery.stray_groups(cached=True) == [], payload


def test_unwritable_cache_folder_costs_only_the_scan(cached_env, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SEGDET_CACHE_DIR", str(blocker / "cache"))
    assert any(i.name == "FPN" for i in discovery.discover(cached=True))


def test_fingerprint_changes_with_the_environment_only(cached_env):
    site, _ = cached_env
    before = scan_cache.fingerprint()
    assert before is not None and scan_cache.fingerprint() == before
    write_dist(site, "other-tool", "1.0", {"console_scripts": {"tool": "tool:main"}}, api=None)
    added = scan_cache.fingerprint()
    assert added != before
    shutil.rmtree(site / "other_tool-1.0.dist-info")
    assert scan_cache.fingerprint() != added


def test_custom_distribution_finder_disables_the_cache(cached_env, monkeypatch):
    class Finder:
        @staticmethod
        def find_spec(*args, **kwargs):
            return None

        @staticmethod
        def find_distributions(*args, **kwargs):
            return iter(())

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder])
    assert scan_cache.fingerprint() is None
    assert any(i.name == "FPN" for i in discovery.discover(cached=True))
    assert _cache_files(cached_env[1]) == []


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("SEGDET_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert scan_cache.cache_dir() == tmp_path / "xdg" / "segdet"
    monkeypatch.setenv("SEGDET_CACHE_DIR", str(tmp_path / "mine"))
    assert scan_cache.cache_dir() == tmp_path / "mine"
    assert scan_cache.cache_file().parent == tmp_path / "mine"


def test_old_cache_files_are_pruned(monkeypatch, tmp_path):
    monkeypatch.setenv("SEGDET_CACHE_DIR", str(tmp_path))
    for i in range(40):
        old = tmp_path / f"discovery-old{i:02d}.json"
        old.write_text("{}")
        os.utime(old, ns=(i * 10**9, i * 10**9))
    assert scan_cache.store("k", {"components": [], "stray": []})
    left = _cache_files(tmp_path)
    assert len(left) == 32 and scan_cache.cache_file() in left
    assert tmp_path / "discovery-old00.json" not in left and tmp_path / "discovery-old39.json" in left


def test_relative_path_entries_follow_the_working_folder(cached_env, monkeypatch, tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    write_dist(here, "segdet-neck-here", "0.1", {"segdet.necks": {"HereNeck": "h:HereNeck"}})
    shutil.copytree(here, there)  # same names, times and sizes: only where they are differs
    for folder in (here, there):
        os.utime(folder, ns=(10**18, 10**18))
    monkeypatch.syspath_prepend("")
    monkeypatch.chdir(here)
    at_here = scan_cache.fingerprint()
    monkeypatch.chdir(there)
    assert scan_cache.fingerprint() != at_here


def test_non_text_path_entries_disable_the_cache(cached_env, monkeypatch):
    monkeypatch.setattr(sys, "path", [*sys.path, b"/somewhere"])
    assert scan_cache.fingerprint() is None


def test_importlib_metadata_backport_finder_keeps_the_cache(cached_env):
    """mlflow (and others) import the ``importlib_metadata`` backport, which puts its own
    sys.path-reading ``MetadataPathFinder`` on ``sys.meta_path``: the cache must keep working."""
    importlib_metadata = pytest.importorskip("importlib_metadata")
    assert any(type(f).__name__ == "MetadataPathFinder" for f in sys.meta_path), importlib_metadata
    assert scan_cache.fingerprint() is not None
    discovery.discover(cached=True)
    assert len(_cache_files(cached_env[1])) == 1
