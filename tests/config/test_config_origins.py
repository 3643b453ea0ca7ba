"""Where every value was set: key paths, ``origin_of``, ``explain``, registry messages."""
from __future__ import annotations

import pytest

from segdet.config import Config, ConfigDict

BASE = """\
model = dict(
    type='RetinaNet',
    neck=dict(
        type='FPN',
        in_channels=[256, 512],
        num_outs=5,
    ),
    head={'type': 'RetinaHead',
          'num_classes': 80},
)
data = dict(
    train=dict(
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize',
                 img_scale=(1333, 800)),
            dict(type='RandomFlip', flip_ratio=0.5),
        ]))
"""


@pytest.fixture
def files(write):
    write("configs/_base_/models/retina.py", BASE)
    return write("configs/retinanet/my.py", """
        _base_ = '../_base_/models/retina.py'
        lr = 0.1

        model = dict(
            neck=dict(num_outs=4), head=dict())
        model['head']['num_classes'] = 3
    """)


def test_key_path_of_nested_dicts_and_list_items(files):
    cfg = Config.fromfile(files)
    assert cfg._cfg_dict.key_path() == ""
    assert cfg.model.key_path() == "model"
    assert cfg.model.neck.key_path() == "model.neck"
    assert cfg.data.train.pipeline[2].key_path() == "data.train.pipeline.2"


def test_origin_of_leaves_in_base_and_after_override(files):
    cfg = Config.fromfile(files)
    base = "configs/_base_/models/retina.py"
    child = "configs/retinanet/my.py"
    assert cfg.model.neck.origin_of("type") == f"{base}:4"
    assert cfg.model.neck.origin_of("num_outs") == f"{child}:5"
    assert cfg.model.head.origin_of("type") == f"{base}:8"
    assert cfg.model.head.origin_of("num_classes") == f"{child}:6"
    assert cfg.data.train.pipeline[1].origin_of("img_scale") == f"{base}:16"
    assert cfg.data.train.pipeline[2].origin_of("flip_ratio") == f"{base}:17"
    assert cfg.origin_of("lr") == f"{child}:2"
    assert cfg.model.neck.origin_of("nope") is None


def test_explain_chain_with_cfg_option(files):
    cfg = Config.fromfile(files, cfg_options=["model.neck.num_outs=3"])
    assert cfg.explain("model.neck.num_outs") == [
        "configs/_base_/models/retina.py:6",
        "configs/retinanet/my.py:5",
        "--cfg-options model.neck.num_outs=3",
    ]
    assert cfg.model.neck.origin_of("num_outs") == "--cfg-options model.neck.num_outs=3"
    assert cfg.explain("model.neck.type") == ["configs/_base_/models/retina.py:4"]
    assert cfg.explain("model") == ["configs/_base_/models/retina.py:1", "configs/retinanet/my.py:4"]


def test_explain_through_list_indices_and_missing_keys(files):
    cfg = Config.fromfile(files, cfg_options=["data.train.pipeline.1.img_scale=(224,224)"])
    assert cfg.explain("data.train.pipeline.1.img_scale") == [
        "configs/_base_/models/retina.py:16",
        "--cfg-options data.train.pipeline.1.img_scale=(224,224)",
    ]
    assert cfg.explain("data.train.pipeline.0.type") == ["configs/_base_/models/retina.py:14"]
    with pytest.raises(KeyError, match="neck"):
        cfg.explain("model.nek.num_outs")
    with pytest.raises(KeyError, match="3 items"):
        cfg.explain("data.train.pipeline.7.type")


def test_assignment_in_code_forgets_the_file_origin(files):
    cfg = Config.fromfile(files)
    cfg.model.neck.num_outs = 2
    assert cfg.model.neck.origin_of("num_outs") is None
    assert cfg.model.neck.origin_of("type") is not None


def test_delete_restarts_the_chain_of_leaves(write):
    write("a.py", "opt = dict(type='SGD', lr=0.1)\n")
    write("b.py", "_base_ = 'a.py'\n\nopt = dict(_delete_=True, type='Adam', lr=0.01)\n")
    cfg = Config.fromfile("b.py")
    assert cfg.explain("opt.lr") == ["b.py:3"]
    assert cfg.explain("opt") == ["a.py:1", "b.py:3"]


def test_values_from_code_inherit_the_statement_line(write):
    write("c.py", """
        import math
        channels = [2 ** i for i in range(3)]
        neck = dict(in_channels=channels, extra=dict(**dict(a=1)))
        steps = list(range(2))
    """)
    cfg = Config.fromfile("c.py")
    assert cfg.neck.origin_of("in_channels") == "c.py:3"
    assert cfg.neck.extra.origin_of("a") == "c.py:3"
    assert cfg.origin_of("steps") == "c.py:4"


def test_json_origins_name_the_file(write):
    write("a.json", '{"model": {"type": "X"}}')
    cfg = Config.fromfile("a.json")
    assert cfg.model.origin_of("type") == "a.json"


def test_yaml_origins_name_file_and_line(write):
    write("base.py", "model = dict(neck=dict(num_outs=5, type='FPN'))\n")
    write("a.yaml", """
        _base_: base.py
        model:
          neck:
            num_outs: 4
          pipeline:
            - type: Load
            - {type: Resize, scale: [1, 2]}
    """)
    cfg = Config.fromfile("a.yaml", cfg_options=["model.neck.num_outs=3"])
    assert cfg.explain("model.neck.num_outs") == ["base.py:1", "a.yaml:4", "--cfg-options model.neck.num_outs=3"]
    assert cfg.model.pipeline[1].origin_of("scale") == "a.yaml:7"
    assert cfg.model.pipeline[0].origin_of("type") == "a.yaml:6"


def test_root_filename_on_every_dict(files):
    cfg = Config.fromfile(files)
    assert cfg.data.train.pipeline[0].root_filename() == "configs/retinanet/my.py"


def test_key_path_survives_merge_from_dict(files):
    cfg = Config.fromfile(files, cfg_options={"model.neck": dict(extra=dict(x=1))})
    assert cfg.model.neck.extra.key_path() == "model.neck.extra"
    assert cfg.model.neck.num_outs == 4
    assert cfg.model.neck.extra.origin_of("x") == "--cfg-options model.neck={'extra': {'x': 1}}"


def test_registry_unknown_type_message_names_key_path_and_line(write):
    from segdet.errors import UnknownComponentError
    from segdet.registry import build

    write("configs/bad_neck.py", """
        model = dict(
            type='RetinaNet',
            neck=dict(
                type='FPNN',
                num_outs=5))
    """)
    cfg = Config.fromfile("configs/bad_neck.py")
    assert isinstance(cfg.model.neck, ConfigDict)
    with pytest.raises(UnknownComponentError) as info:
        build(cfg.model.neck, "necks")
    msg = str(info.value)
    assert "model.neck.type" in msg
    assert "configs/bad_neck.py:4" in msg
    assert "'FPNN'" in msg


def test_origins_in_a_file_with_base_references(write):
    write("base.py", "neck = dict(type='FPN', num_outs=5)\ndepth = 50\n")
    write("child.py", """
        _base_ = 'base.py'
        model = dict(
            neck={{_base_.neck}},
            depth={{_base_.depth}} + 1)
    """)
    cfg = Config.fromfile("child.py")
    assert cfg.model.origin_of("neck") == "child.py:3"
    assert cfg.model.neck.origin_of("num_outs") == "child.py:3"
    assert cfg.model.origin_of("depth") == "child.py:4"
    assert cfg.explain("neck.num_outs") == ["base.py:1"]


def test_moved_dicts_keep_their_origins(files):
    cfg = Config.fromfile(files)
    cfg.other = cfg.model.neck
    assert cfg.other.key_path() == "other"
    assert cfg.other.origin_of("type") == "configs/_base_/models/retina.py:4"
