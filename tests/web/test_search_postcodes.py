"""A bare five-digit code is a US ZIP only when nothing says it is in another country."""

from __future__ import annotations

import httpx

from tests.factories import make_campaign


async def test_a_five_digit_code_in_france_is_not_read_as_a_texan_zip(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/api/meetings", params={"near": "75011", "country": "FR"})
    assert answer.status_code == 400
    message = answer.json()["fields"]["near"]
    assert "postal code 75011 in FR" in message and "Carrollton" not in message
    page = await client.get("/find", params={"near": "75011", "country": "FR"})
    assert page.status_code == 400 and "Carrollton" not in page.text


async def test_a_campaign_abroad_reads_codes_as_its_countrys(client: httpx.AsyncClient) -> None:
    await make_campaign("berlin", country="DE")
    answer = await client.get("/api/meetings", params={"near": "10115", "campaign": "berlin"})
    assert answer.status_code == 400
    assert "postal code 10115 in DE" in answer.json()["fields"]["near"]


async def test_without_another_country_a_five_digit_code_is_a_us_zip(
    client: httpx.AsyncClient,
) -> None:
    for params in ({"near": "10115"}, {"near": "10115", "country": "US"}):
        page = await client.get("/find", params=params)
        assert page.status_code == 200
        assert "10115 New York, NY" in page.text


async def test_a_malformed_country_is_a_clear_400(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/meetings", params={"near": "75011", "country": "France"})
    assert answer.status_code == 400
    assert answer.json()["fields"]["country"] == (
        "The country is a two-letter code, like US or FR."
    )
