"""The ``--cfg-options`` parser and applying options to a config."""
from __future__ import annotations

import pytest

from segdet.config import Config, parse_cfg_options
from segdet.errors import CfgOptionsError


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("a.b=1", {"a.b": 1}),
        ("a=-3", {"a": -3}),
        ("a=0.5", {"a": 0.5}),
        ("a=1e-4", {"a": 1e-4}),
        ("a=[1,2]", {"a": [1, 2]}),
        ("a=[1, 2]", {"a": [1, 2]}),
        ("a=1,2", {"a": [1, 2]}),
        ("a=x,y,", {"a": ["x", "y"]}),
        ("a=(1,2)", {"a": (1, 2)}),
        ("a=(1,)", {"a": (1,)}),
        ("a=()", {"a": ()}),
        ("a=[]", {"a": []}),
        ("a=[(1,2),(3,4)]", {"a": [(1, 2), (3, 4)]}),
        ("y=[(a,b),(c,d)]", {"y": [("a", "b"), ("c", "d")]}),
        ("a=[[1,[2,3]],(4,[5])]", {"a": [[1, [2, 3]], (4, [5])]}),
        ("a=True", {"a": True}),
        ("a=false", {"a": False}),
        ("a=None", {"a": None}),
        ("a=hello", {"a": "hello"}),
        ("a=hello world", {"a": "hello world"}),
        ("a='quoted, with comma'", {"a": "quoted, with comma"}),
        ('a="1"', {"a": "1"}),
        ("a='True'", {"a": "True"}),
        ("a=['x', \"y\", z]", {"a": ["x", "y", "z"]}),
        ("a=", {"a": ""}),
        ("a=path/to/file.pth", {"a": "path/to/file.pth"}),
        ("a=x=y", {"a": "x=y"}),
        ("a={'k': 1, 'j': [1, 2]}", {"a": {"k": 1, "j": [1, 2]}}),
        ("data.test.pipeline.1.img_scale='(224,224)'", {"data.test.pipeline.1.img_scale": (224, 224)}),
        ("data.test.pipeline.1.img_scale=(224,224)", {"data.test.pipeline.1.img_scale": (224, 224)}),
    ],
)
def test_parse_values(item, expected):
    parsed = parse_cfg_options([item])
    assert parsed == expected
    assert [type(v) for v in parsed.values()] == [type(v) for v in expected.values()]


def test_parse_several_items_later_wins_and_keeps_text():
    parsed = parse_cfg_options(["a=1", "b.c=[1,2]", "a=2"])
    assert parsed == {"a": 2, "b.c": [1, 2]}
    assert parsed.sources == {"a": "a=2", "b.c": "b.c=[1,2]"}
    assert parse_cfg_options(None) == {}


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ("novalue", "not of the form KEY=VALUE"),
        ("=1", "invalid key"),
        ("a..b=1", "invalid key"),
        ("a=[1,2", "missing ']'"),
        ("a=(1,2]", "unbalanced"),
        ("a='open", "unclosed quote"),
    ],
)
def test_parse_errors_quote_the_item(item, fragment):
    with pytest.raises(CfgOptionsError) as info:
        parse_cfg_options([item])
    assert fragment in str(info.value) and item in str(info.value)


@pytest.fixture
def cfg(write):
    write("c.py", """
        model = dict(backbone=dict(depth=50), neck=dict(num_outs=5))
        data = dict(test=dict(pipeline=[
            dict(type='Load'),
            dict(type='MultiScaleFlipAug', img_scale=(1333, 800), flip=False,
                 transforms=[dict(type='Resize', keep_ratio=True)]),
        ]))
        scales = ((1, 2), (3, 4))
    """)
    return Config.fromfile("c.py")


def test_merge_from_dict_dotted_keys_and_list_indices(cfg):
    cfg.merge_from_dict(parse_cfg_options([
        "model.backbone.depth=101",
        "data.test.pipeline.1.img_scale=(224,224)",
        "data.test.pipeline.1.transforms.0.keep_ratio=False",
        "model.new.key=x",
        "scales.1.0=9",
    ]))
    assert cfg.model.backbone.depth == 101
    assert cfg.data.test.pipeline[1].img_scale == (224, 224)
    assert cfg.data.test.pipeline[1].transforms[0].keep_ratio is False
    assert cfg.model.new.key == "x" and cfg.model.new.key_path() == "model.new"
    assert cfg.scales == ((1, 2), (9, 4))
    assert cfg.model.backbone.origin_of("depth") == "--cfg-options model.backbone.depth=101"
    assert cfg.model.new.origin_of("key") == "--cfg-options model.new.key=x"


def test_merge_from_plain_dict_merges_dicts_and_supports_delete(cfg):
    cfg.merge_from_dict({"model.neck": dict(type="FPN"), "model.backbone": dict(_delete_=True, type="Swin")})
    assert cfg.model.neck.to_dict() == {"num_outs": 5, "type": "FPN"}
    assert cfg.model.backbone.to_dict() == {"type": "Swin"}
    cfg.merge_from_dict({"data.test.pipeline.0": dict(to_float32=True)})
    assert cfg.data.test.pipeline[0].to_dict() == {"type": "Load", "to_float32": True}
    assert cfg.data.test.pipeline[0].key_path() == "data.test.pipeline.0"


def test_replacing_a_list_element_extends_the_lists_chain(cfg):
    cfg.merge_from_dict(["data.test.pipeline.0=None"])
    assert cfg.data.test.pipeline[0] is None
    assert cfg.explain("data.test.pipeline") == ["c.py:2", "--cfg-options data.test.pipeline.0=None"]


def test_index_out_of_range_names_the_path(cfg):
    with pytest.raises(CfgOptionsError) as info:
        cfg.merge_from_dict(["data.test.pipeline.5.img_scale=(1,1)"])
    msg = str(info.value)
    assert "'data.test.pipeline'" in msg and "index 5" in msg and "2 items" in msg


def test_non_index_into_a_list_names_the_path(cfg):
    with pytest.raises(CfgOptionsError, match=r"data\.test\.pipeline is a list; use an index"):
        cfg.merge_from_dict(["data.test.pipeline.first.type=X"])


def test_path_through_a_non_container_names_the_path(cfg):
    with pytest.raises(CfgOptionsError) as info:
        cfg.merge_from_dict(["model.backbone.depth.x=1"])
    msg = str(info.value)
    assert "'model.backbone.depth'" in msg and "int" in msg and "model.backbone.depth.x=1" in msg


def test_list_keys_can_be_forbidden(cfg):
    with pytest.raises(CfgOptionsError, match="list indices are not allowed"):
        cfg.merge_from_dict({"data.test.pipeline.0.type": "X"}, allow_list_keys=False)


def test_fromfile_accepts_option_items_or_dict(write):
    write("a.py", "x = dict(y=1)\n")
    assert Config.fromfile("a.py", cfg_options=["x.y=2"]).x.y == 2
    assert Config.fromfile("a.py", cfg_options={"x.y": 3}).x.y == 3


def test_int_keys_of_dicts_are_addressable():
    cfg = Config(dict(palette={0: (1, 2, 3), 1: (4, 5, 6)}))
    cfg.merge_from_dict(["palette.1=(0,0,0)"])
    assert cfg.palette == {0: (1, 2, 3), 1: (0, 0, 0)}
