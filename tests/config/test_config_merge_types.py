"""A child dict over a base list, scalar or None is an error (as MMCV refuses it), unless _delete_."""
from __future__ import annotations

import pytest

from segdet.config import Config
from segdet.errors import ConfigError


@pytest.mark.parametrize("base_value, kind", [("[1, 2]", "list"), ("3", "int"), ("'abc'", "str"),
                                             ("None", "None")])
def test_dict_over_non_dict_names_key_both_files_and_fix(write, base_value, kind):
    write("configs/_base_/base.py", f"model = dict(neck={base_value})\n")
    path = write("configs/child.py", """
        _base_ = './_base_/base.py'
        model = dict(neck=dict(type='FPN', num_outs=4))
    """)
    with pytest.raises(ConfigError) as exc:
        Config.fromfile(path)
    msg = str(exc.value)
    assert msg.startswith("model.neck:")
    assert "configs/_base_/base.py:1" in msg and "configs/child.py:2" in msg
    assert kind in msg and "_delete_=True" in msg


def test_delete_replaces_a_non_dict_base_value(write):
    write("configs/_base_/base.py", "model = dict(neck=[1, 2])\n")
    path = write("configs/child.py", """
        _base_ = './_base_/base.py'
        model = dict(neck=dict(_delete_=True, type='FPN'))
    """)
    assert Config.fromfile(path).model.neck.to_dict() == {"type": "FPN"}


def test_non_dict_over_dict_still_replaces(write):
    write("configs/_base_/base.py", "model = dict(neck=dict(type='FPN'))\n")
    path = write("configs/child.py", "_base_ = './_base_/base.py'\nmodel = dict(neck=None)\n")
    assert Config.fromfile(path).model.neck is None
