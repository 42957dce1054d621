"""``definition_yaml`` (what ``leveret describe queue:X`` prints, and the text a reflected
definition is loaded from) reads back as the same JSON data, whatever the strings hold.

U+0085 (NEL), U+2028 and U+2029 are line breaks to YAML: in a single-quoted or plain scalar
they were folded into a space, so a description or a pattern changed on the way (r12 finding 2).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from leveret_codegen._loader import parse_text
from leveret_codegen._queue_source import definition_yaml

# Any character a JSON document can carry in a string, surrogates aside (no UTF-8 for them).
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
_BREAKS = st.text(
    st.sampled_from(["\x85", "\u2028", "\u2029", "\n", "\r", "\t", " ", "a", "'", '"', "#", ":"]),
    max_size=12,
)


def _reloaded(value: object) -> object:
    document, diagnostics = parse_text(definition_yaml({"v": value}), "t.yaml", is_json=False)
    assert diagnostics == []
    assert document is not None
    return document.data


@given(st.one_of(_TEXT, _BREAKS))
@settings(max_examples=400)
def test_a_string_value_reads_back_the_same(value: str) -> None:
    assert _reloaded(value) == {"v": value}


@given(st.one_of(_TEXT, _BREAKS))
@settings(max_examples=200)
def test_a_string_key_reads_back_the_same(key: str) -> None:
    document, diagnostics = parse_text(definition_yaml({key: [key]}), "t.yaml", is_json=False)
    assert diagnostics == []
    assert document is not None
    assert document.data == {key: [key]}


def test_line_separators_survive() -> None:
    for text in ("a\x85b", "a\u2028b", "a\u2029b", "\x85", "x\n\x85y", "ends with\x85"):
        assert _reloaded(text) == {"v": text}
