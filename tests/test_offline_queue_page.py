"""/queue: the offline queue's list, the same page for everyone (the phone fills it in)."""

from __future__ import annotations

import lxml.html

from tests.accounts.factories import make_attendee, sign_in


def test_the_queue_page_is_the_empty_list_the_phone_fills_in(client, db):
    response = client.get("/queue")
    doc = lxml.html.fromstring(response.get_data(as_text=True))

    assert (response.status_code, doc.findtext(".//h1")) == (200, "Sent and waiting")
    assert [e.get("data-queue-list") for e in doc.xpath("//ol[@data-queue-list]")] == [""]
    assert doc.xpath("//ol[@data-queue-list]/li") == []
    assert [b.text_content() for b in doc.xpath("//main//button")] == ["Send now", "Clear the finished ones"]
    assert doc.xpath("//*[@data-queue-empty]/text()") == ["Nothing was kept on this phone."]
    assert doc.xpath("//script[contains(@src, '/static/js/queue-core.js?v=')]/@defer") == ["defer"]


def test_every_page_carries_the_hidden_queue_indicator_linking_the_list(client, db):
    sign_in(client, make_attendee().user)

    doc = lxml.html.fromstring(client.get("/me").get_data(as_text=True))

    indicator = doc.xpath("//*[@data-queue-indicator]")
    assert [(i.get("hidden"), i.xpath(".//a/@href")) for i in indicator] == [("", ["/queue"])]
