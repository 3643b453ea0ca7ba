"""Every config error names the file, and the line where there is one."""
from __future__ import annotations

import pytest

from segdet.config import Config, ConfigFileNotFoundError
from segdet.errors import ConfigError, ConfigSyntaxError, SegdetError


def test_syntax_error_names_file_and_line(write):
    write("configs/bad.py", "a = 1\nmodel = dict(\n    type='X',\n    depth=50 50)\n")
    with pytest.raises(ConfigSyntaxError) as info:
        Config.fromfile("configs/bad.py")
    msg = str(info.value)
    assert "configs/bad.py:4" in msg
    assert "depth=50 50)" in msg


def test_syntax_error_in_a_base_names_the_base(write):
    write("base.py", "x = (\n")
    write("child.py", "_base_ = 'base.py'\n")
    with pytest.raises(ConfigSyntaxError, match=r"base\.py:1"):
        Config.fromfile("child.py")


def test_runtime_error_names_file_line_and_exception(write):
    write("run.py", "a = 1\nb = [1, 2]\nc = b[5]\nd = 4\n")
    with pytest.raises(ConfigError) as info:
        Config.fromfile("run.py")
    msg = str(info.value)
    assert "run.py:3" in msg and "IndexError" in msg and "c = b[5]" in msg
    assert isinstance(info.value.__cause__, IndexError)


def test_runtime_error_inside_a_function_of_the_config_names_the_deepest_config_line(write):
    write("fn.py", "def f():\n    return 1 / 0\n\nx = f()\n")
    with pytest.raises(ConfigError, match=r"fn\.py:2: .*ZeroDivisionError"):
        Config.fromfile("fn.py")


def test_unknown_extension(write):
    write("cfg.txt", "a = 1\n")
    with pytest.raises(ConfigError, match=r"unsupported config file extension '\.txt'.*cfg\.txt"):
        Config.fromfile("cfg.txt")


def test_base_with_unknown_extension_names_including_file(write):
    write("b.toml", "a = 1\n")
    write("c.py", "_base_ = 'b.toml'\n")
    with pytest.raises(ConfigError, match=r"c\.py:1: .*'\.toml'"):
        Config.fromfile("c.py")


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigFileNotFoundError) as info:
        Config.fromfile("missing.py")
    assert str(tmp_path / "missing.py") in str(info.value)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, SegdetError)


def test_invalid_json_names_file_and_line(write):
    write("bad.json", '{\n  "a": 1,\n  "b": \n}\n')
    with pytest.raises(ConfigSyntaxError, match=r"bad\.json:4"):
        Config.fromfile("bad.json")


def test_invalid_yaml_names_file_and_line(write):
    write("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n")
    with pytest.raises(ConfigSyntaxError, match=r"bad\.yaml:\d+"):
        Config.fromfile("bad.yaml")


def test_non_mapping_data_file(write):
    write("list.yaml", "- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"list\.yaml: .*mapping"):
        Config.fromfile("list.yaml")


def test_base_must_be_paths(write):
    write("b.py", "x = 1\n_base_ = [1, 2]\n")
    with pytest.raises(ConfigError, match=r"b\.py:2: _base_ must be"):
        Config.fromfile("b.py")
    write("y.yaml", "x: 1\n_base_: {a: 1}\n")
    with pytest.raises(ConfigError, match=r"y\.yaml:2: _base_ must be"):
        Config.fromfile("y.yaml")


def test_base_may_be_computed_but_must_be_literal_with_references(write):
    write("x.py", "v = 1\n")
    write("a.py", "name = 'x.py'\n_base_ = [name]\n")
    assert Config.fromfile("a.py").v == 1
    write("r.py", "name = 'x.py'\n_base_ = [name]\nw = {{_base_.v}}\n")
    with pytest.raises(ConfigError, match=r"r\.py:2: _base_ must be .* string literals"):
        Config.fromfile("r.py")


def test_reserved_keys_are_rejected():
    with pytest.raises(ConfigError, match="'filename' is a reserved name"):
        Config(dict(filename="x"))
