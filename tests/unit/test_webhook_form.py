"""The webhook's form parser is the standard library's, only cheaper."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twilio_inbound.webhook import form_pairs

# Characters that matter to form encoding, and the rest of Unicode (surrogates excluded: bodies are UTF-8).
FORM_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from("&=+%;#?/ 0123456789abcdefABCDEF"), st.characters(blacklist_categories=["Cs"])),
    max_size=80,
)


def assert_parsed_as_parse_qsl(text: str) -> None:
    try:
        expected = parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        with pytest.raises(UnicodeDecodeError):
            form_pairs(text)
        return
    assert form_pairs(text) == expected


@settings(max_examples=500, deadline=None)
@given(text=FORM_TEXT)
def test_form_pairs_equal_parse_qsl(text: str) -> None:
    assert_parsed_as_parse_qsl(text)


@pytest.mark.parametrize("text", ["a=1&&b=2", "=x", "a", "a=%E2%9C%93+%2B", "a=%ZZ", "a=%E2%9C"])
def test_form_pairs_edge_cases(text: str) -> None:
    assert_parsed_as_parse_qsl(text)
