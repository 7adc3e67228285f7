"""The visitor's Accept-Language as a hint of the countries they may mean."""

from __future__ import annotations

import pytest

from kit.web.languages import hint_countries, main_country


@pytest.mark.parametrize(
    ("header", "countries"),
    [
        ("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7", ("FR", "US")),
        ("de", ("DE",)),
        ("it;q=0.5, es;q=0.9", ("ES", "IT")),  # by weight, not by position
        ("fr-CA", ("CA",)),  # the region named beats the language's main country
        ("zh-Hant-TW", ("TW",)),
        ("en;q=0, fr", ("FR",)),  # q=0 means "not this one"
        ("*", ()),
        ("", ()),
        ("<script>, ;;;, 12-34", ()),
        ("xx-", ()),
    ],
)
def test_hint_countries(header: str, countries: tuple[str, ...]) -> None:
    assert hint_countries(header) == countries


def test_a_huge_header_is_read_only_in_part() -> None:
    assert hint_countries(",".join(["de"] * 10_000)) == ("DE",)


def test_main_country_comes_from_cldr() -> None:
    assert (main_country("fr"), main_country("de"), main_country("it")) == ("FR", "DE", "IT")
    assert main_country("qq") == ""
