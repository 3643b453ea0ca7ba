"""Keys Python would NFKC-normalise when parsing (``'\\uf900'`` -> ``'\\u8c48'``) survive pretty_text/dump,
and the hypothesis profile of CI is derandomised."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from segdet.config import Config
from segdet.config.dump import format_python


@pytest.mark.parametrize("key", ["\uf900", "\ufb01x", "x\u00b2", "\u2126"])  # CJK compat, ligature, superscript, Ohm
def test_nfkc_changing_keys_round_trip(tmp_path, key):
    cfg = Config({key: 1, "model": {key: [1, 2], "plain": {key: (3,)}}})
    text = cfg.pretty_text
    assert f"{key} =" not in text and f"{key}=" not in text
    path = tmp_path / "dumped.py"
    path.write_text(text, encoding="utf-8")
    back = Config.fromfile(str(path))
    assert set(back.keys()) >= {key, "model"}
    assert back[key] == 1 and back["model"][key] == [1, 2] and back["model"]["plain"][key] == (3,)


def test_plain_identifiers_keep_dict_form():
    assert format_python({"model": {"num_outs": 3, "café": 1}}) == "model = dict(num_outs=3, café=1)\n"


def test_ci_profile_is_derandomized(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(textwrap.dedent("""
        import sys
        sys.path.insert(0, sys.argv[1])
        import conftest  # tests/conftest.py registers and loads the profile
        from hypothesis import settings
        print(settings.default.derandomize, settings.default.database)
    """))
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = {}
    for ci in ("1", ""):
        env = dict(os.environ, CI=ci)
        env.pop("SEGDET_HYPOTHESIS_PROFILE", None)
        if not ci:
            env.pop("CI")
        out[ci] = subprocess.run([sys.executable, str(probe), tests_dir], env=env, capture_output=True,
                                 text=True, check=True, timeout=120).stdout.split()
    assert out["1"] == ["True", "None"]
    assert out[""][0] == "False"
