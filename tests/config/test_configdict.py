"""ConfigDict and the mapping side of Config."""
from __future__ import annotations

import copy
import pickle

import pytest

from segdet.config import Config, ConfigDict


def test_attribute_and_item_access_and_nested_conversion():
    cd = ConfigDict(model=dict(neck=dict(num_outs=5)), pipeline=[dict(type="A"), (dict(type="B"), 1)])
    assert cd.model.neck.num_outs == 5 and cd["model"]["neck"]["num_outs"] == 5
    assert isinstance(cd.pipeline[0], ConfigDict)
    assert isinstance(cd.pipeline[1], tuple) and isinstance(cd.pipeline[1][0], ConfigDict)
    assert cd.pipeline[1][0].type == "B"


def test_missing_attribute_names_path_and_closest_keys():
    cd = ConfigDict(model=dict(neck=dict(num_outs=5, in_channels=[1])))
    with pytest.raises(AttributeError) as info:
        _ = cd.model.neck.num_out
    msg = str(info.value)
    assert "'model.neck.num_out'" in msg and "'num_outs'" in msg
    assert not hasattr(cd, "nothing")
    with pytest.raises(KeyError, match="model.nope"):
        _ = cd.model["nope"]


def test_missing_attribute_lists_keys_when_nothing_is_close():
    cd = ConfigDict(alpha=1, beta=2)
    with pytest.raises(AttributeError, match="keys at the top level: alpha, beta"):
        _ = cd.zzz


def test_assigning_new_keys_converts_and_sets_paths():
    cd = ConfigDict(model=dict())
    cd.model.neck = dict(type="FPN", extra=[dict(a=1)])
    cd["data"] = {"train": {"pipeline": [{"type": "X"}]}}
    assert isinstance(cd.model.neck, ConfigDict)
    assert cd.model.neck.key_path() == "model.neck"
    assert cd.model.neck.extra[0].key_path() == "model.neck.extra.0"
    assert cd.data.train.pipeline[0].key_path() == "data.train.pipeline.0"
    moved = cd.model.neck
    cd.other = moved
    assert cd.other.key_path() == "other"


def test_update_merges_recursively_and_setdefault():
    cd = ConfigDict(a=dict(b=1, c=2))
    cd.update(a=dict(c=3), d=4)
    assert cd.to_dict() == {"a": {"b": 1, "c": 3}, "d": 4}
    assert cd.setdefault("e", dict(f=1)).f == 1
    assert cd.e.key_path() == "e"


def test_copy_deepcopy_pickle_keep_paths_and_origins(write):
    write("c.py", "model = dict(\n    neck=dict(num_outs=5),\n)\n")
    cfg = Config.fromfile("c.py")
    for clone in (copy.deepcopy(cfg), pickle.loads(pickle.dumps(cfg)), cfg.copy()):
        assert clone.model.neck.key_path() == "model.neck"
        assert clone.model.neck.origin_of("num_outs") == "c.py:2"
        assert clone.to_dict() == cfg.to_dict()
        assert clone.filename == "c.py"
    deep = copy.deepcopy(cfg)
    deep.model.neck.num_outs = 1
    assert cfg.model.neck.num_outs == 5
    shallow = cfg.model.copy()
    assert isinstance(shallow, ConfigDict) and shallow.neck is cfg.model.neck


def test_to_dict_gives_plain_containers():
    cfg = Config(dict(a=dict(b=[dict(c=1), (dict(d=2),)])))
    plain = cfg.to_dict()
    assert type(plain["a"]) is dict
    assert type(plain["a"]["b"][0]) is dict and type(plain["a"]["b"][1][0]) is dict
    assert plain == {"a": {"b": [{"c": 1}, ({"d": 2},)]}}


def test_config_mapping_api():
    src = dict(model=dict(type="M"), data=dict(samples_per_gpu=2), lr=0.1)
    cfg = Config(src)
    assert list(cfg) == ["model", "data", "lr"] and len(cfg) == 3
    assert list(cfg.keys()) == ["model", "data", "lr"]
    assert dict(cfg.items())["lr"] == 0.1 and 0.1 in list(cfg.values())
    assert "model" in cfg and "nope" not in cfg
    assert cfg.get("nope", 3) == 3 and cfg.get("lr") == 0.1
    assert cfg["data"].samples_per_gpu == 2
    cfg.work_dir = "w"
    cfg["seed"] = 0
    assert cfg.work_dir == "w" and cfg.seed == 0
    assert cfg.pop("seed") == 0 and "seed" not in cfg
    assert cfg.pop("seed", None) is None
    del cfg.work_dir
    assert "work_dir" not in cfg
    assert cfg == src and src["model"] == {"type": "M"}  # the source dict is untouched
    assert cfg.filename is None


def test_config_from_file_has_filename_and_text(write):
    write("a.py", "x = 1\n")
    write("b.py", "_base_ = 'a.py'\ny = 2\n")
    cfg = Config.fromfile("b.py")
    assert cfg.filename == "b.py"
    assert "x = 1" in cfg.text and "y = 2" in cfg.text
    assert cfg.text.index("x = 1") < cfg.text.index("y = 2")
    assert "b.py" in repr(cfg)


def test_fromstring_all_formats(write):
    write("base.py", "m = dict(a=1, b=2)\n")
    py = Config.fromstring("_base_ = 'base.py'\nm = dict(b=3)\n", ".py")
    assert py.m.to_dict() == {"a": 1, "b": 3}
    assert Config.fromstring('{"a": [1, 2]}', ".json").a == [1, 2]
    assert Config.fromstring("a:\n  b: 1\n", "yaml").a.b == 1
    assert Config.fromstring("x = 1\n", ".py").text == "x = 1\n"


def test_wrapping_a_sub_dict_copies_it_and_keeps_origins(write):
    write("w.py", "model = dict(\n    neck=dict(num_outs=5))\n")
    cfg = Config.fromfile("w.py")
    sub = Config(cfg.model)
    assert sub.neck.key_path() == "neck"
    assert sub.neck.origin_of("num_outs") == "w.py:2"
    assert cfg.model.neck.key_path() == "model.neck"
    again = ConfigDict(cfg.model)
    again.neck.num_outs = 1
    assert cfg.model.neck.num_outs == 5 and cfg.model.neck.key_path() == "model.neck"


def test_private_keys_read_as_attributes_without_difflib_noise():
    cd = ConfigDict({"_scope_": "x"})
    assert cd._scope_ == "x"
    with pytest.raises(AttributeError) as info:
        _ = cd._other
    assert str(info.value) == "_other"


def test_explain_relative_to_a_sub_dict(write):
    write("base.py", "model = dict(neck=dict(num_outs=5))\n")
    write("child.py", "_base_ = 'base.py'\nmodel = dict(neck=dict(num_outs=4))\n")
    cfg = Config.fromfile("child.py")
    assert cfg.model.explain("neck.num_outs") == ["base.py:1", "child.py:2"]
    with pytest.raises(KeyError, match="'model.neck.num_out'.*'num_outs'"):
        cfg.model.explain("neck.num_out")


def test_missing_item_error_is_a_readable_key_error():
    from segdet.config import ConfigKeyError
    from segdet.errors import ConfigError

    cd = ConfigDict(model=dict(neck=dict(num_outs=1)))
    with pytest.raises(KeyError) as info:
        _ = cd.model["nek"]
    assert isinstance(info.value, ConfigKeyError) and isinstance(info.value, ConfigError)
    assert str(info.value) == "config has no key 'model.nek'; did you mean 'neck'?"


def test_config_is_a_mapping():
    from collections.abc import Mapping

    cfg = Config(dict(a=1, b=dict(c=2)))
    assert isinstance(cfg, Mapping)
    assert dict(cfg) == {"a": 1, "b": {"c": 2}}
    assert (lambda **kw: kw)(**cfg)["b"].c == 2
    assert Config(cfg).to_dict() == cfg.to_dict()
