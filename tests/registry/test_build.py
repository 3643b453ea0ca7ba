"""build(): resolution, signature checks and every error message."""
from __future__ import annotations

import zipfile

import pytest

from segdet.errors import (
    ComponentArgumentError,
    ComponentClashError,
    IncompatiblePluginError,
    PluginImportError,
    RegistryError,
    UnknownComponentError,
)
from segdet.registry import build, components, register, unregister

from .fake_dists import activate, deactivate, write_dist

NECK_SRC = '''
class {name}:
    """A neck for tests."""

    def __init__(self, in_channels: list, out_channels: int = 8, num_outs: int = 3) -> None:
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.origin = "{dist}"
'''


@pytest.fixture
def site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    write_dist(site, "segdet-neck-alpha", "0.3.1",
               {"segdet.necks": {"AlphaNeck": "alpha_mod:AlphaNeck", "Twin": "alpha_mod:Twin",
                                 "Broken": "broken_mod:Broken"}},
               {"alpha_mod": NECK_SRC.format(name="AlphaNeck", dist="alpha")
                + NECK_SRC.format(name="Twin", dist="alpha"),
                "broken_mod": "import does_not_exist_anywhere\n"})
    write_dist(site, "segdet-neck-beta", "0.1.0", {"segdet.necks": {"Twin": "beta_mod:Twin"}},
               {"beta_mod": NECK_SRC.format(name="Twin", dist="beta")})
    write_dist(site, "segdet-neck-old", "0.0.1", {"segdet.necks": {"OldNeck": "old_mod:OldNeck"}},
               {"old_mod": NECK_SRC.format(name="OldNeck", dist="old")}, api="0.5")
    activate(site, monkeypatch)
    yield site
    deactivate(site)


def test_build_by_name_fills_default_args(site):
    neck = build({"type": "AlphaNeck", "out_channels": 4}, "necks", default_args={"in_channels": [1, 2]})
    assert (neck.in_channels, neck.out_channels, neck.num_outs) == ([1, 2], 4, 3)


def test_build_accepts_full_group_name_and_class_type(site):
    class Local:
        def __init__(self, a: int = 1) -> None:
            self.a = a

    assert build({"type": Local, "a": 5}, "segdet.necks").a == 5


def test_unknown_type_names_group_key_and_closest(site):
    with pytest.raises(UnknownComponentError) as exc:
        build({"type": "AlphaNek"}, "necks")
    msg = str(exc.value)
    assert "'AlphaNek'" in msg and "'segdet.necks'" in msg and "AlphaNeck" in msg and "type" in msg


def test_unknown_type_in_other_group_is_pointed_out(site):
    with pytest.raises(UnknownComponentError, match="exists in group 'necks'"):
        build({"type": "AlphaNeck"}, "backbones")


def test_unknown_type_of_known_uninstalled_distribution(site, monkeypatch, tmp_path):
    """The provider hint comes from a wheel's entry points in a wheelhouse, not from a table."""
    wheel = tmp_path / "segdet_neck_gamma-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("segdet_neck_gamma-0.1.0.dist-info/entry_points.txt",
                    "[segdet.necks]\nGammaNeck = segdet_neck_gamma:GammaNeck\n")
    monkeypatch.setenv("SEGDET_WHEELHOUSE", str(tmp_path))
    with pytest.raises(UnknownComponentError, match="pip install segdet-neck-gamma"):
        build({"type": "GammaNeck"}, "necks")
    with pytest.raises(UnknownComponentError) as exc:
        build({"type": "DeltaNeck"}, "necks")
    assert "pip install" not in str(exc.value)


def test_clash_is_reported_with_both_distributions(site):
    with pytest.raises(ComponentClashError) as exc:
        build({"type": "Twin", "in_channels": [1]}, "necks")
    msg = str(exc.value)
    assert "segdet-neck-alpha" in msg and "segdet-neck-beta" in msg
    assert "type='segdet-neck-beta:Twin'" in msg


def test_qualified_type_chooses_a_distribution(site):
    assert build({"type": "segdet-neck-beta:Twin", "in_channels": [1]}, "necks").origin == "beta"
    assert build({"type": "segdet_neck_alpha:Twin", "in_channels": [1]}, "necks").origin == "alpha"
    with pytest.raises(UnknownComponentError, match="provided by: segdet-neck-alpha, segdet-neck-beta"):
        build({"type": "segdet-neck-zeta:Twin"}, "necks")


def test_import_failure_is_chained_and_hides_nothing(site):
    with pytest.raises(PluginImportError) as exc:
        build({"type": "Broken"}, "necks")
    assert "Broken (segdet-neck-alpha 0.3.1)" in str(exc.value)
    assert isinstance(exc.value.__cause__, ModuleNotFoundError)
    assert build({"type": "AlphaNeck", "in_channels": [3]}, "necks").origin == "alpha"
    assert any(i.name == "Broken" for i in components("necks"))


def test_incompatible_plugin_is_skipped_with_versions(site):
    with pytest.raises(IncompatiblePluginError) as exc:
        build({"type": "OldNeck", "in_channels": [1]}, "necks")
    msg = str(exc.value)
    assert "plugin API 0.5" in msg and "plugin API 1.0" in msg and "segdet-neck-old" in msg


def test_wrong_arguments_show_signature_and_suggestion(site):
    with pytest.raises(ComponentArgumentError) as exc:
        build({"type": "AlphaNeck", "in_channels": [1], "num_out": 2}, "necks")
    msg = str(exc.value)
    assert "unexpected argument 'num_out'" in msg and "did you mean 'num_outs'" in msg
    assert "signature: AlphaNeck(in_channels: list, out_channels: int = 8, num_outs: int = 3)" in msg


def test_missing_required_argument(site):
    with pytest.raises(ComponentArgumentError, match="missing the required argument 'in_channels'"):
        build({"type": "AlphaNeck"}, "necks")


def test_missing_type_and_bad_group():
    with pytest.raises(RegistryError, match="missing 'type'"):
        build({"depth": 1}, "backbones")
    with pytest.raises(RegistryError, match="unknown component group 'neckz'"):
        build({"type": "X"}, "neckz")


def test_local_registration_lists_as_local_and_builds():
    @register("necks", "LocalNeck")
    class LocalNeck:
        def __init__(self, width: int = 2) -> None:
            self.width = width

    try:
        (info,) = [i for i in components("necks") if i.name == "LocalNeck"]
        assert info.distribution == "<local>"
        assert info.display_name.startswith("LocalNeck (local ")
        assert build({"type": "LocalNeck", "width": 3}, "necks").width == 3
        with pytest.raises(ValueError, match="already registered"):
            register("necks", "LocalNeck")(type("Other", (), {}))
    finally:
        unregister("necks", "LocalNeck")
