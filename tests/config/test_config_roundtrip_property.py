"""Property: any plain config written by ``pretty_text`` loads back equal."""
from __future__ import annotations

import keyword
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from segdet.config import Config, parse_cfg_options

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False),
    st.text(max_size=12),
)
_keys = st.one_of(st.text(max_size=8).filter(lambda k: k != "_delete_"), st.integers(min_value=-5, max_value=5))
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(_keys, inner, max_size=4),
    ),
    max_leaves=20,
)
_top_names = st.text(string.ascii_letters + string.digits + "_", min_size=1, max_size=10).filter(
    lambda s: s.isidentifier() and not s.startswith("_") and not keyword.iskeyword(s)
    and s not in ("filename", "text", "pretty_text")
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_top_names, _values, max_size=5))
def test_pretty_text_round_trips(cfg_dict):
    text = Config(cfg_dict).pretty_text
    assert Config.fromstring(text, ".py").to_dict() == cfg_dict


_option_scalars = st.one_of(
    st.integers(min_value=-1000, max_value=1000),
    st.booleans(),
    st.none(),
    st.text(string.ascii_letters, min_size=1, max_size=6).filter(
        lambda s: s.lower() not in ("true", "false", "none", "inf", "nan", "infinity")
    ),
)
_option_values = st.recursive(
    _option_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.lists(inner, min_size=2, max_size=3).map(tuple)),
    max_leaves=8,
)


def _unquoted(value):
    """Option text the way a user types it: no quotes around plain words."""
    if isinstance(value, list):
        return "[" + ",".join(_unquoted(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ",".join(_unquoted(v) for v in value) + ")"
    return str(value)


@settings(max_examples=60, deadline=None)
@given(_option_values)
def test_option_values_parse_back(value):
    assert parse_cfg_options([f"k={_unquoted(value)}"])["k"] == value
