"""``_base_`` inheritance, merging, ``_delete_`` and ``{{_base_.x}}`` references."""
from __future__ import annotations

import pytest

from segdet.config import Config, ConfigDict
from segdet.errors import BaseCycleError, BaseFileNotFoundError, ConfigError, DuplicateBaseKeyError

MODEL = """
model = dict(
    type='RetinaNet',
    backbone=dict(type='ResNet', depth=50, out_indices=(0, 1, 2, 3)),
    neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048], num_outs=5),
)
"""


def test_single_base_as_string_and_recursive_bases(write):
    write("configs/_base_/root.py", "a = 1\nb = dict(x=1, y=2)\n")
    write("configs/_base_/mid.py", "_base_ = './root.py'\nb = dict(y=3)\nc = 'mid'\n")
    path = write("configs/exp/child.py", "_base_ = '../_base_/mid.py'\nc = 'child'\n")
    cfg = Config.fromfile(path)
    assert cfg.to_dict() == {"a": 1, "b": {"x": 1, "y": 3}, "c": "child"}
    assert "_base_" not in cfg


def test_child_overrides_and_dicts_merge_recursively(write):
    write("base.py", MODEL)
    path = write("child.py", """
        _base_ = ['base.py']
        model = dict(neck=dict(num_outs=4), backbone=dict(depth=101))
    """)
    model = Config.fromfile(path).model
    assert model.type == "RetinaNet"
    assert model.neck.to_dict() == {"type": "FPN", "in_channels": [256, 512, 1024, 2048], "num_outs": 4}
    assert model.backbone.depth == 101
    assert model.backbone.out_indices == (0, 1, 2, 3)


def test_non_dict_values_replace(write):
    write("base.py", "x = [1, 2, 3]\ny = dict(a=1)\nz = dict(a=1)\n")
    path = write("child.py", "_base_ = 'base.py'\nx = [9]\ny = 5\nz = dict(a=[1])\n")
    cfg = Config.fromfile(path)
    assert cfg.x == [9] and cfg.y == 5 and cfg.z == {"a": [1]}


def test_delete_replaces_the_base_dict(write):
    write("base.py", MODEL)
    path = write("child.py", """
        _base_ = 'base.py'
        model = dict(backbone=dict(_delete_=True, type='Swin', embed_dims=32))
    """)
    cfg = Config.fromfile(path)
    assert cfg.model.backbone.to_dict() == {"type": "Swin", "embed_dims": 32}
    assert cfg.model.neck.num_outs == 5


def test_delete_without_base_value_is_dropped(write):
    path = write("only.py", "opt = dict(_delete_=True, lr=0.1)\nlst = [dict(_delete_=True, a=1)]\n")
    cfg = Config.fromfile(path)
    assert cfg.to_dict() == {"opt": {"lr": 0.1}, "lst": [{"a": 1}]}


def test_duplicate_key_in_sibling_bases_names_both_files_and_the_key(write):
    write("configs/_base_/a.py", "model = dict(x=1)\nshared = 1\n")
    write("configs/_base_/b.py", "other = 2\nshared = 2\n")
    path = write("configs/child.py", "_base_ = ['_base_/a.py', '_base_/b.py']\n")
    with pytest.raises(DuplicateBaseKeyError) as info:
        Config.fromfile(path)
    msg = str(info.value)
    assert "'shared'" in msg
    assert "configs/_base_/a.py" in msg and "configs/_base_/b.py" in msg
    assert "configs/_base_/a.py:2" in msg and "configs/_base_/b.py:2" in msg
    assert "configs/child.py" in msg


def test_same_key_in_base_and_child_is_fine(write):
    write("a.py", "k = 1\n")
    write("b.py", "j = 1\n")
    path = write("c.py", "_base_ = ['a.py', 'b.py']\nk = 2\nj = 3\n")
    assert Config.fromfile(path).to_dict() == {"k": 2, "j": 3}


def test_cycle_error_shows_the_chain(write):
    write("a.py", "_base_ = 'b.py'\nx = 1\n")
    write("b.py", "_base_ = 'c.py'\ny = 1\n")
    write("c.py", "_base_ = 'a.py'\nz = 1\n")
    with pytest.raises(BaseCycleError) as info:
        Config.fromfile("a.py")
    assert "a.py -> b.py -> c.py -> a.py" in str(info.value)


def test_self_cycle(write):
    write("self.py", "_base_ = 'self.py'\n")
    with pytest.raises(BaseCycleError, match=r"self\.py -> self\.py"):
        Config.fromfile("self.py")


def test_missing_base_names_including_file_and_tried_path(write, tmp_path):
    write("configs/child.py", "x = 1\n_base_ = ['../nope/base.py']\n")
    with pytest.raises(BaseFileNotFoundError) as info:
        Config.fromfile("configs/child.py")
    msg = str(info.value)
    assert "configs/child.py:2" in msg
    assert str(tmp_path / "nope" / "base.py") in msg
    assert isinstance(info.value, FileNotFoundError)


def test_base_reference_keeps_types(write):
    write("base.py", MODEL + "scale = (1333, 800)\nlr = 0.02\nsteps = [8, 11]\nflag = None\n")
    path = write("child.py", """
        _base_ = 'base.py'
        neck = {{_base_.model.neck}}
        scale = {{ _base_.scale }}
        doubled = {{_base_.lr}} * 2
        steps = {{_base_.steps}} + [12]
        first = {{_base_.model.neck.in_channels.0}}
        flag = {{_base_.flag}}
        mixed = dict(s={{_base_.scale}}, t=[{{_base_.lr}}])
    """)
    cfg = Config.fromfile(path)
    assert isinstance(cfg.neck, ConfigDict) and cfg.neck.num_outs == 5
    assert cfg.neck.in_channels == [256, 512, 1024, 2048]
    assert cfg.scale == (1333, 800) and isinstance(cfg.scale, tuple)
    assert cfg.doubled == pytest.approx(0.04)
    assert cfg.steps == [8, 11, 12]
    assert cfg.first == 256
    assert cfg.flag is None
    assert cfg.mixed.to_dict() == {"s": (1333, 800), "t": [0.02]}


def test_base_reference_inside_strings(write):
    write("base.py", "depth = 50\nname = \"it's\"\n")
    path = write("child.py", """
        _base_ = 'base.py'
        title = 'resnet{{_base_.depth}}_fpn'
        quoted = 'x-{{_base_.name}}'
        dq = "{{ _base_.depth }}"
        # a comment with {{_base_.depth}} stays a comment
    """)
    cfg = Config.fromfile(path)
    assert cfg.title == "resnet50_fpn"
    assert cfg.quoted == "x-it's"
    assert cfg.dq == "50"


def test_base_reference_copy_is_independent(write):
    write("base.py", "m = dict(a=dict(b=1))\n")
    path = write("child.py", "_base_ = 'base.py'\nn = {{_base_.m}}\nn['a']['b'] = 2\n")
    cfg = Config.fromfile(path)
    assert cfg.m.a.b == 1 and cfg.n.a.b == 2


def test_unknown_base_reference_names_file_line_and_close_keys(write):
    write("base.py", MODEL)
    path = write("child.py", "_base_ = 'base.py'\n\nx = {{_base_.model.nek}}\n")
    with pytest.raises(ConfigError) as info:
        Config.fromfile(path)
    msg = str(info.value)
    assert "child.py:3" in msg and "'nek'" in msg and "'neck'" in msg


def test_base_variables_are_not_visible_by_name(write):
    write("base.py", "depth = 50\n")
    path = write("child.py", "_base_ = 'base.py'\nx = depth + 1\n")
    with pytest.raises(ConfigError, match=r"child\.py:2.*NameError"):
        Config.fromfile(path)


def test_private_names_imports_and_functions_are_dropped(write):
    path = write("cfg.py", """
        import math
        import os.path as osp
        from collections import OrderedDict
        _tmp = 3
        __dunder = 4
        def helper(x):
            return x * 2
        lr = math.sqrt(4) * _tmp
        name = osp.basename('/a/b.py')
        sizes = [helper(i) for i in range(3)]
        table = {k: v for k, v in zip('ab', (1, 2))}
        if lr > 1:
            big = True
    """)
    cfg = Config.fromfile(path)
    assert cfg.to_dict() == {
        "lr": 6.0, "name": "b.py", "sizes": [0, 2, 4], "table": {"a": 1, "b": 2}, "big": True,
    }


def test_predefined_file_variables(write):
    path = write("configs/retina_r50.py", "work_dir = './work_dirs/{{ fileBasenameNoExtension }}'\n"
                                            "ext = '{{fileExtname}}'\nbase = '{{fileBasename}}'\n")
    cfg = Config.fromfile(path)
    assert cfg.work_dir == "./work_dirs/retina_r50"
    assert cfg.ext == ".py" and cfg.base == "retina_r50.py"


def test_json_and_yaml_files_with_bases_and_references(write):
    write("base.py", MODEL + "lr = 0.01\n")
    write("mid.json", '{"_base_": "base.py", "model": {"neck": {"num_outs": 3}}, "lr": 0.5}')
    path = write("top.yaml", """
        _base_: [mid.json]
        model:
          backbone:
            depth: 18
        neck_copy: '{{_base_.model.neck}}'
        label: 'lr={{_base_.lr}}'
    """)
    cfg = Config.fromfile(path)
    assert cfg.model.neck.num_outs == 3
    assert cfg.model.backbone.depth == 18 and cfg.model.backbone.type == "ResNet"
    assert cfg.neck_copy.num_outs == 3 and isinstance(cfg.neck_copy, ConfigDict)
    assert cfg.label == "lr=0.5"
    assert cfg.lr == 0.5


def test_cache_sees_changed_base(write):
    base = write("base.py", "x = 1\n")
    write("child.py", "_base_ = 'base.py'\ny = 2\n")
    assert Config.fromfile("child.py").x == 1
    base.write_text("x = 10  # longer text changes the size too\n")
    assert Config.fromfile("child.py").x == 10


def test_loaded_configs_do_not_share_state(write):
    write("base.py", MODEL)
    path = write("child.py", "_base_ = 'base.py'\n")
    first = Config.fromfile(path)
    first.model.neck.num_outs = 99
    first.model.neck.in_channels.append(1)
    second = Config.fromfile(path)
    assert second.model.neck.num_outs == 5
    assert second.model.neck.in_channels == [256, 512, 1024, 2048]


def test_cached_bases_are_never_changed_by_their_children(write):
    write("base.py", MODEL + "opt = dict(_delete_=True, lr=0.1)\npipe = [dict(type='A', k=(1, dict(x=1)))]\n")
    write("child.py", """
        _base_ = 'base.py'
        model = dict(neck=dict(num_outs=4), backbone=dict(_delete_=True, type='Swin'))
        pipe = [dict(type='B')]
    """)
    pristine = Config.fromfile("base.py").to_dict()
    assert pristine["opt"] == {"lr": 0.1}
    child = Config.fromfile("child.py", cfg_options=["model.neck.type=X", "opt.lr=5"])
    child.model.neck.in_channels.append(1)
    child.opt.lr = 7
    child.merge_from_dict({"pipe.0": dict(extra=1)})
    assert Config.fromfile("base.py").to_dict() == pristine
    again = Config.fromfile("child.py")
    assert again.model.neck.to_dict() == {"type": "FPN", "in_channels": [256, 512, 1024, 2048], "num_outs": 4}
    assert again.model.backbone.to_dict() == {"type": "Swin"}
    assert again.opt.lr == 0.1 and again.pipe == [{"type": "B"}]
    assert again.model.neck.key_path() == "model.neck"
