"""A bare five-digit code is a US ZIP only when nothing says it is in another country;
postal codes abroad are found offline, and the visitor is asked "Did you mean…?"."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.factories import make_campaign, make_meeting

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


async def test_a_french_postal_code_finds_paris_11e(client: httpx.AsyncClient) -> None:
    """75011 in France is Paris's 11th arrondissement, not Carrollton, Texas."""
    await make_meeting(
        title="Soirée à Popincourt",
        address={
            "street": "3 rue Oberkampf",
            "locality": "Paris",
            "postal_code": "75011",
            "country": "FR",
        },
    )
    answer = await client.get("/api/meetings", params={"near": "75011", "country": "FR"})
    assert answer.status_code == 200, answer.text
    assert [m["title"] for m in answer.json()["meetings"]] == ["Soirée à Popincourt"]
    assert answer.json()["did_you_mean"] == []
    page = await client.get("/find", params={"near": "75011", "country": "FR"})
    assert page.status_code == 200
    assert "within 25 km of 75011 Paris, FR" in page.text and "Carrollton" not in page.text
    lat = float(re.search(r'data-lat="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    lon = float(re.search(r'data-lon="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    assert lat == pytest.approx(48.86, abs=0.01) and lon == pytest.approx(2.38, abs=0.01)


async def test_a_german_postal_code_finds_berlin(client: httpx.AsyncClient) -> None:
    page = await client.get("/find", params={"near": "10115", "country": "DE"})
    assert page.status_code == 200
    assert "10115 Berlin, DE" in page.text and "New York" not in page.text


async def test_a_campaign_abroad_reads_codes_as_its_countrys(client: httpx.AsyncClient) -> None:
    await make_campaign("berlin", country="DE")
    page = await client.get("/find", params={"near": "10115", "campaign": "berlin"})
    assert page.status_code == 200
    assert "10115 Berlin, DE" in page.text and "New York" not in page.text


async def test_a_postal_code_no_country_has_is_a_clear_400(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/meetings", params={"near": "00000", "country": "FR"})
    assert answer.status_code == 400
    message = answer.json()["fields"]["near"]
    assert "postal code 00000 in France" in message and "Carrollton" not in message
    page = await client.get("/find", params={"near": "00000", "country": "FR"})
    assert page.status_code == 400 and "postal code 00000 in France" in page.text


async def test_without_another_country_a_five_digit_code_is_a_us_zip(
    client: httpx.AsyncClient,
) -> None:
    for params in ({"near": "10115"}, {"near": "10115", "country": "US"}):
        page = await client.get("/find", params=params)
        assert page.status_code == 200
        assert "10115 New York, NY" in page.text


async def test_a_french_visitor_is_asked_about_paris(client: httpx.AsyncClient) -> None:
    """The code stays a US ZIP, but a French browser gets a prominent link to Paris that
    keeps the other filters."""
    params = {"near": "75011", "has_space": "1", "from": "2026-12-01"}
    page = await client.get("/find", params=params, headers=FRENCH)
    assert page.status_code == 200
    assert "75011 Carrollton, TX" in page.text
    link = re.search(
        r'<p class="notice did-you-mean">Did you mean <a href="([^"]+)">([^<]+)</a>?', page.text
    )
    assert link is not None, page.text
    assert link.group(2) == "75011 Paris, France"
    query = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
    assert query == {
        "near": ["75011"],
        "country": ["FR"],
        "has_space": ["1"],
        "from": ["2026-12-01"],
    }
    followed = await client.get(link.group(1).replace("&amp;", "&"))
    assert followed.status_code == 200 and "of 75011 Paris, FR" in followed.text


async def test_the_api_says_did_you_mean_too(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/meetings", params={"near": "75011"}, headers=FRENCH)
    assert answer.status_code == 200
    assert answer.json()["did_you_mean"] == [
        {"near": "75011", "country": "FR", "label": "75011 Paris, France"}
    ]
    german = await client.get(
        "/api/meetings", params={"near": "10115"}, headers={"Accept-Language": "de"}
    )
    assert german.json()["did_you_mean"] == [
        {"near": "10115", "country": "DE", "label": "10115 Berlin, Germany"}
    ]


async def test_without_a_language_hint_a_us_zip_offers_no_other_country(
    client: httpx.AsyncClient,
) -> None:
    # Nearly every ZIP is a code somewhere too (10027 in Poland and Spain): nothing
    # suggests another country, so nothing else is offered.
    for near in ("75011", "10027"):
        page = await client.get(
            "/find", params={"near": near}, headers={"Accept-Language": "en-US"}
        )
        assert page.status_code == 200 and "did-you-mean" not in page.text
        answer = await client.get("/api/meetings", params={"near": near})
        assert answer.json()["did_you_mean"] == []


async def test_a_code_no_us_zip_has_is_read_abroad_with_the_others_a_quiet_line(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/find", params={"near": "35000"}, headers={"Accept-Language": "en-US"})
    assert page.status_code == 200
    assert "35000 Rennes" in page.text  # the most populous place with the code
    assert "notice did-you-mean" not in page.text
    line = re.search(r'<p class="small did-you-mean">(.*?)</p>', page.text, re.S)
    assert line is not None
    text = re.sub(r"<[^>]+>", "", line.group(1))
    assert text.startswith("Looking for 35000 in another country?")
    assert "Rennes" not in text and "Slavonski Brod, Croatia" in text and text.count("·") <= 2
    answer = await client.get("/api/meetings", params={"near": "35000"})
    suggested = answer.json()["did_you_mean"]
    assert 1 <= len(suggested) <= 3 and "FR" not in {s["country"] for s in suggested}


async def test_a_code_only_the_us_has_suggests_nothing(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/meetings", params={"near": "99501"}, headers=FRENCH)
    assert answer.status_code == 200 and answer.json()["did_you_mean"] == []


async def test_the_find_form_has_a_country_control_kept_on_its_links(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/find", params={"near": "75011", "country": "FR"})
    assert '<label for="field-country">Country</label>' in page.text
    selected = re.search(r'<option value="FR"[^>]*selected[^>]*>([^<]+)</option>', page.text)
    assert selected is not None and selected.group(1) == "France"
    assert '<option value="">Any / United States</option>' in page.text or re.search(
        r'<option value=""[^>]*>Any / United States</option>', page.text
    )
    radius_links = re.findall(r'href="(/find\?[^"]*radius_km=[^"]*)"', page.text)
    assert radius_links and all("country=FR" in link for link in radius_links)


async def test_a_malformed_country_is_a_clear_400(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/meetings", params={"near": "75011", "country": "France"})
    assert answer.status_code == 400
    assert answer.json()["fields"]["country"] == (
        "The country is a two-letter code, like US or FR."
    )
