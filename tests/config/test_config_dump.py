"""``pretty_text`` and ``dump`` to .py/.json/.yaml, loaded back equal."""
from __future__ import annotations

import ast

import pytest

from segdet.config import Config
from segdet.errors import ConfigError

SOURCE = {
    "model": {
        "type": "RetinaNet",
        "backbone": {"type": "ResNet", "depth": 50, "out_indices": (0, 1, 2, 3), "frozen": (1,)},
        "neck": {"in_channels": [256, 512, 1024, 2048], "add_extra_convs": "on_input", "relu": None},
        "test_cfg": {"nms": {"type": "nms", "iou_threshold": 0.5}, "score_thr": 0.05, "max": 1e-8},
    },
    "data": {"pipeline": [{"type": "Resize", "img_scale": [(1333, 800), (666, 400)], "keep_ratio": True},
                          [[1, [2, 3]], (4, (5, 6))]]},
    "quotes": "it's \"quoted\" \\ with backslash\nand newline",
    "flags": [True, False, None],
    "floats": [0.1, -2.5, 1e20, float("inf")],
    "empty": {"d": {}, "l": [], "t": ()},
    "int_keys": {1: "a", 2: "b"},
    "odd keys": {"with space": 1, "class": 2},
    "long_list": list(range(40)),
}


def _json_like(value):
    if isinstance(value, dict):
        return {str(k): _json_like(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_like(v) for v in value]
    return value


def test_pretty_text_is_valid_readable_python_in_insertion_order():
    text = Config(SOURCE).pretty_text
    ast.parse(text)
    lines = text.splitlines()
    assert lines[0] == "model = dict("
    assert all(len(line) <= 79 for line in lines if "long_list" not in line and len(line) < 200)
    assert "type='RetinaNet'" in text and "out_indices=(0, 1, 2, 3)" in text and "frozen=(1,)" in text
    assert "{1: 'a', 2: 'b'}" in text
    assert "globals()['odd keys'] = {'with space': 1, 'class': 2}" in text
    assert text.index("model =") < text.index("data =") < text.index("quotes =")


def test_python_round_trip_keeps_tuples_and_values(tmp_path):
    cfg = Config(SOURCE)
    cfg.dump(tmp_path / "out.py")
    again = Config.fromfile(tmp_path / "out.py")
    assert again.to_dict() == SOURCE
    assert isinstance(again.model.backbone.out_indices, tuple)
    assert isinstance(again.data.pipeline[0].img_scale[0], tuple)
    assert again.pretty_text == cfg.pretty_text


def test_fromstring_of_pretty_text_round_trips():
    cfg = Config(SOURCE)
    assert Config.fromstring(cfg.pretty_text, ".py").to_dict() == SOURCE


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_json_and_yaml_round_trips(tmp_path, suffix):
    src = {k: v for k, v in SOURCE.items() if k not in ("floats", "int_keys")}
    src["floats"] = [0.1, -2.5, 1e20]
    out = tmp_path / f"out{suffix}"
    Config(src).dump(out)
    assert Config.fromfile(out).to_dict() == _json_like(src)


def test_dump_without_file_returns_text_in_own_format(write):
    write("a.json", '{"a": [1, 2]}')
    assert Config.fromfile("a.json").dump().strip().startswith("{")
    assert Config(dict(a=1)).dump() == "a = 1\n"


def test_dump_of_a_loaded_inherited_config(write, tmp_path):
    write("base.py", "model = dict(type='M', layers=(1, 2))\nlr = 0.1\n")
    write("child.py", "_base_ = 'base.py'\nmodel = dict(layers=(3,))\n")
    cfg = Config.fromfile("child.py")
    cfg.dump(tmp_path / "resolved.py")
    text = (tmp_path / "resolved.py").read_text()
    assert "_base_" not in text
    assert Config.fromfile(tmp_path / "resolved.py").to_dict() == {"model": {"type": "M", "layers": (3,)}, "lr": 0.1}


def test_dump_unknown_suffix_and_unserializable_values(tmp_path):
    with pytest.raises(ConfigError, match=r"'\.txt'"):
        Config(dict(a=1)).dump(tmp_path / "x.txt")
    with pytest.raises(ConfigError, match=r"a\.b"):
        Config(dict(a=dict(b=object()))).dump(tmp_path / "x.json")
    with pytest.raises(ConfigError, match=r"a\.b"):
        _ = Config(dict(a=dict(b=object()))).pretty_text


def test_classes_dump_as_loadable_expressions(tmp_path):
    from collections import OrderedDict

    cfg = Config(dict(layer=dict(type=OrderedDict)))
    cfg.dump(tmp_path / "cls.py")
    assert Config.fromfile(tmp_path / "cls.py").layer.type is OrderedDict


def test_long_scalar_sequences_fill_lines_and_round_trip():
    classes = tuple(f"class number {i}" for i in range(40))
    one = ("x" * 90,)
    cfg = Config(dict(classes=classes, one=one, nested=dict(ids=list(range(100)))))
    text = cfg.pretty_text
    assert len(text.splitlines()) < 30
    assert all(len(line) <= 79 for line in text.splitlines() if "xxxxx" not in line)
    again = Config.fromstring(text, ".py")
    assert again.classes == classes and again.one == one and again.nested.ids == list(range(100))
