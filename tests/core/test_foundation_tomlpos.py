"""The TOML key locator against documents written by an independent TOML writer."""

from __future__ import annotations

from typing import Any

import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from simcity.tomlpos import key_lines, line_of

names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
leaf = st.one_of(st.integers(-5, 5), st.text(alphabet="ab[]{}=#\"' \n,", max_size=6), st.booleans())


def tables(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    if depth == 0:
        return st.dictionaries(names, leaf, min_size=1, max_size=3)
    child = st.one_of(leaf, tables(depth - 1), st.lists(tables(depth - 1), min_size=1, max_size=3),
                      st.lists(leaf, max_size=3))
    return st.dictionaries(names, child, min_size=1, max_size=4)


def leaf_paths(obj: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in leaf_paths(v, prefix + (k,))]
    if isinstance(obj, list) and obj and all(isinstance(x, dict) for x in obj):
        return [p for i, v in enumerate(obj) for p in leaf_paths(v, prefix + (i,))]
    return [prefix]


@settings(max_examples=200, deadline=None)
@given(tables(2), st.booleans())
def test_every_key_is_located_on_its_own_line(doc: dict[str, Any], multiline: bool) -> None:
    """Documents written by tomli_w (an independent writer, nested tables, arrays of tables, strings
    full of TOML punctuation, multi-line or not): every leaf key is found by key_lines and its
    line really holds the key."""
    text = tomli_w.dumps(doc, multiline_strings=multiline, indent=2)
    lines = key_lines(text)
    src = text.splitlines()
    for path in leaf_paths(doc):
        line = lines.get(path)
        assert line is not None, (path, text)
        key = path[-1]
        assert isinstance(key, str)
        assert key in src[line - 1], (path, line, text)


def test_multiline_arrays_of_inline_tables_point_at_the_entry() -> None:
    """In a hand-written multi-line array with comments, the second inline table starts on line 4
    and its key x is on line 5; a key missing from an entry falls back to the entry's line, and a
    key not in the file has no line."""
    text = 'zones = [\n  {id = "a"},  # one\n  # two\n  {id = "b",\n   x = 2},\n]\n'
    lines = key_lines(text)
    assert lines[("zones", 1)] == 4 and lines[("zones", 1, "x")] == 5
    assert line_of(lines, ("zones", 1, "missing")) == 4
    assert line_of(lines, ("other",)) is None
