"""The pure half of nearby search: parameters refused with the leaf's QueryError."""

from __future__ import annotations

import pytest

from kit.maps.bbox import QueryError
from kit.maps.cursors import parse_limit, parse_radius


def test_parse_radius() -> None:
    assert parse_radius(None) == parse_radius("") == 25
    assert parse_radius("12.5") == 12.5
    assert parse_radius("500") == 500
    for text in ("501", "0", "-3", "abc", "nan", "inf"):
        with pytest.raises(QueryError) as raised:
            parse_radius(text)
        assert raised.value.fields["radius_km"], text
    with pytest.raises(QueryError) as raised:
        parse_radius("600")
    assert "at most 500 km" in raised.value.fields["radius_km"]


def test_parse_limit() -> None:
    assert parse_limit(None) == parse_limit(" ") == 20
    assert parse_limit("1") == 1 and parse_limit("100") == 100
    for text in ("0", "101", "ten", "2.5"):
        with pytest.raises(QueryError) as raised:
            parse_limit(text)
        assert raised.value.fields["limit"], text
