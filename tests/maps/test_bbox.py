"""The map's box: parsing ``west,south,east,north`` and the antimeridian split."""

from __future__ import annotations

import pytest

from kit.maps.bbox import QueryError, lon_ranges, parse_bbox


def test_parse_bbox() -> None:
    assert parse_bbox("-74.1,40.6,-73.8,40.9") == (-74.1, 40.6, -73.8, 40.9)
    assert parse_bbox("179,-17,-179,-16") == (179.0, -17.0, -179.0, -16.0)
    for text in (
        None,
        "",
        "1,2,3",
        "1,2,3,4,5",
        "a,b,c,d",
        "nan,0,1,1",
        "-181,0,0,1",
        "0,-91,1,1",
        "0,10,1,5",
        "1," * 200 + "1",
    ):
        with pytest.raises(QueryError) as raised:
            parse_bbox(text)
        assert raised.value.fields["bbox"], text


def test_lon_ranges_split_a_box_across_the_antimeridian() -> None:
    assert lon_ranges(-74.1, -73.8) == [(-74.1, -73.8)]
    assert lon_ranges(179.0, -179.0) == [(179.0, 180.0), (-180.0, -179.0)]
    assert lon_ranges(-181.0, -170.0) == [(179.0, 180.0), (-180.0, -170.0)]
    assert lon_ranges(170.0, 181.0) == [(170.0, 180.0), (-180.0, -179.0)]
