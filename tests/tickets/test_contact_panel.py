"""The contact panel of the ticket page: the contact, their identities and other tickets, and their order history
from the team's commerce endpoint (a real HTTP server on 127.0.0.1 plays the endpoint)."""

import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import ChannelAccountFactory, ContactFactory, ContactIdentityFactory, TicketFactory
from tests.fake_platform import Answer, FakePlatform, running_fake_platform
from tests.support import admin_form_data
from tickets.models import Status, Team, Ticket
from tickets.services.commerce import CommerceFailed, orders_fetch, orders_parse

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
ORDERS = {
    "orders": [
        {
            "id": "ord_81",
            "number": "1042",
            "placed_at": "2026-11-20T10:15:00Z",
            "total": "59.90",
            "currency": "EUR",
            "status": "shipped",
        },
        {"id": "ord_77", "number": 1038, "placed_at": "2026-10-02T08:00:00", "total": 12.5, "currency": "eur"},
        {"id": "ord_12", "total": "100", "currency": "USD", "status": "refunded"},
    ],
    "customer": {"email": "ann@example.com"},
}


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    # Order histories are cached per ticket: no test sees another's.
    cache.clear()
    yield
    cache.clear()


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ticket_of(contact: Any, account: Any, *, external_id: str, **fields: Any) -> Ticket:
    identity = ContactIdentityFactory(contact=contact, channel_account=account, external_id=external_id)
    return TicketFactory(team=account.team, contact=contact, identity=identity, **fields)


@pytest.fixture
def ann(db: None) -> Any:
    return ContactFactory(display_name="Ann Lee")


@pytest.fixture
def ticket(ann: Any, account_a: Any) -> Ticket:
    return ticket_of(ann, account_a, external_id="ann-42", subject="Parcel lost")


def configure(team: Team, url: str, token: str = "s3cret") -> None:
    team.commerce_url, team.commerce_token = url, token
    team.save()


def orders_of(client: Client, ticket: Ticket) -> str:
    response = client.get(f"/tickets/{ticket.number}/orders/", headers=HTMX)
    assert response.status_code == 200, "the panel says what happened; the request never fails"
    return response.content.decode()


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def panel_of(html: str) -> str:
    found = re.search(r'<aside class="contact-aside" id="contact-panel".*?</aside>', html, re.S)
    assert found, "the ticket page has a contact panel"
    return found.group(0)


# The contact, their identities and other tickets


def test_the_panel_names_the_contact_with_a_link_and_lists_the_identities_the_agent_is_shown(
    agent_a: Any, team_a: Any, ann: Any, account_b: Any, ticket: Ticket
) -> None:
    telegram = ChannelAccountFactory(team=team_a, kind="telegram", name="Acme bot")
    on_telegram = ContactIdentityFactory(contact=ann, channel_account=telegram, external_id="4242")
    elsewhere = ContactIdentityFactory(contact=ann, channel_account=account_b, external_id="other-brand-id")

    panel = panel_of(client_for(agent_a).get(f"/tickets/{ticket.number}/").content.decode())

    assert f'<a href="/contacts/{ann.pk}/" id="contact-panel-link">Ann Lee</a>' in panel
    assert f'id="panel-identity-{ticket.identity_id}"' in panel and f'id="panel-identity-{on_telegram.pk}"' in panel
    assert "ann-42" in panel and "4242" in panel
    assert "other-brand-id" not in panel and f"panel-identity-{elsewhere.pk}" not in panel
    # Each identity says its channel in words; the mark beside it is hidden from screen readers.
    telegram_line = re.search(rf'id="panel-identity-{on_telegram.pk}">(.*?)</li>', panel, re.S)
    assert telegram_line and text_of(telegram_line.group(1)).startswith("via Telegram 4242")
    assert '<span class="channel-mark" aria-hidden="true"></span>' in telegram_line.group(1)


def test_the_panel_lists_the_contacts_ten_latest_other_tickets_the_agent_may_see(
    agent_a: Any, ann: Any, account_a: Any, account_b: Any, ticket: Ticket
) -> None:
    now = timezone.now()
    others = [
        ticket_of(
            ann, account_a, external_id=f"old-{i}", status=Status.CLOSED, last_activity_at=now - timedelta(days=i)
        )
        for i in range(1, 13)
    ]
    hidden = ticket_of(ann, account_b, external_id="other-brand", subject="Secret matter", last_activity_at=now)

    panel = panel_of(client_for(agent_a).get(f"/tickets/{ticket.number}/").content.decode())

    listed = [int(pk) for pk in re.findall(r'id="other-ticket-(\d+)"', panel)]
    assert listed == [other.pk for other in others[:10]], "the ten with the newest activity, newest first"
    assert f'id="other-ticket-{ticket.pk}"' not in panel and "Secret matter" not in panel
    assert f'id="other-ticket-{hidden.pk}"' not in panel
    assert f'<a href="/contacts/{ann.pk}/">All of Ann Lee\'s tickets</a>' in panel


def test_a_contact_with_no_other_ticket_says_so(agent_a: Any, ticket: Ticket) -> None:
    panel = panel_of(client_for(agent_a).get(f"/tickets/{ticket.number}/").content.decode())
    assert 'id="contact-other-tickets-none">No other ticket you can see.' in panel
    assert "All of" not in panel


def test_the_ticket_page_holds_its_queries_however_many_identities_and_tickets_the_contact_has(
    agent_a: Any, team_a: Any, ann: Any, account_a: Any, ticket: Ticket
) -> None:
    client = client_for(agent_a)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/tickets/{ticket.number}/")
        assert response.status_code == 200
        return len(captured)

    ticket_of(ann, account_a, external_id="first-other", status=Status.CLOSED)
    few = queries()
    for i in range(30):
        account = ChannelAccountFactory(team=team_a, kind="whatsapp")
        ticket_of(ann, account, external_id=f"wa-{i}", status=Status.CLOSED)
    many = queries()
    assert few == many
    assert panel_of(client.get(f"/tickets/{ticket.number}/").content.decode()).count('id="panel-identity-') == 32


# Order history: where it is asked, and what the panel shows


def test_without_a_commerce_endpoint_the_panel_says_it_is_not_configured(agent_a: Any, ticket: Ticket) -> None:
    panel = panel_of(client_for(agent_a).get(f"/tickets/{ticket.number}/").content.decode())
    assert "Not configured: Team A has no commerce endpoint" in panel
    assert "/orders/" not in panel, "nothing to fetch"
    assert "Not configured: Team A has no commerce endpoint" in orders_of(client_for(agent_a), ticket)


def test_the_page_never_waits_for_the_orders_it_fetches_them_once_loaded(
    agent_a: Any, ticket: Ticket, platform_api: FakePlatform
) -> None:
    configure(ticket.team, f"{platform_api.url}/orders")

    panel = panel_of(client_for(agent_a).get(f"/tickets/{ticket.number}/").content.decode())

    assert platform_api.requests == []
    loader = re.search(r'<section class="orders" id="contact-orders"[^>]*>', panel)
    assert loader
    assert f'hx-get="/tickets/{ticket.number}/orders/"' in loader.group(0)
    assert 'hx-trigger="load"' in loader.group(0) and 'aria-busy="true"' in loader.group(0)
    assert "s3cret" not in panel, "the token never reaches the browser"


def test_the_orders_are_listed_with_their_totals_and_the_sum_per_currency(
    agent_a: Any, ticket: Ticket, platform_api: FakePlatform
) -> None:
    platform_api.answer("/orders", ORDERS)
    configure(ticket.team, f"{platform_api.url}/orders?shop=eu")

    html = orders_of(client_for(agent_a), ticket)

    [asked] = platform_api.requests
    assert (asked.method, asked.path) == ("GET", "/orders")
    assert asked.query == {"shop": ["eu"], "contact": ["ann-42"]}
    assert asked.headers["Authorization"] == "Bearer s3cret"
    orders = re.findall(r'<li class="order">(.*?)</li>', html, re.S)
    assert [text_of(order) for order in orders] == [
        "Order 1042 59.90 EUR Nov 20, 2026 · shipped",
        "Order 1038 12.5 EUR Oct 2, 2026",
        "Order ord_12 100 USD refunded",
    ]
    totals = re.search(r'<dl class="order-totals" id="order-totals">(.*?)</dl>', html, re.S)
    assert totals and text_of(totals.group(1)) == "Total in EUR (2 orders) 72.40 EUR Total in USD (1 order) 100 USD"


def test_a_contact_without_orders_is_said_so(agent_a: Any, ticket: Ticket, platform_api: FakePlatform) -> None:
    platform_api.answer("/orders", {"orders": []})
    configure(ticket.team, f"{platform_api.url}/orders", token="")

    html = orders_of(client_for(agent_a), ticket)

    assert 'id="orders-none">No orders for ann-42.' in html
    assert "Authorization" not in platform_api.requests[0].headers, "no token, no header"


def test_a_good_answer_is_kept_for_a_minute_and_a_failure_is_asked_again(
    agent_a: Any, ticket: Ticket, platform_api: FakePlatform
) -> None:
    platform_api.answer("/orders", Answer(status=503), ORDERS)
    configure(ticket.team, f"{platform_api.url}/orders")
    client = client_for(agent_a)

    assert "answered HTTP 503" in orders_of(client, ticket)
    assert "Order 1042" in orders_of(client, ticket)
    assert "Order 1042" in orders_of(client, ticket)
    assert len(platform_api.requests) == 2, "the failure was not kept; the good answer was"

    configure(ticket.team, f"{platform_api.url}/orders", token="rotated")
    orders_of(client, ticket)
    assert len(platform_api.requests) == 3, "a change of endpoint or token is asked at once"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Answer(status=500, body=b"boom"), "The order service answered HTTP 500 instead of the orders."),
        (Answer(status=204, body=b""), "The order service answered HTTP 204 instead of the orders."),
        (
            Answer(status=401),
            "The order service refused the team&#x27;s token (HTTP 401): a team lead can check it in the admin.",
        ),
        (Answer(body=b"<html>Maintenance</html>", content_type="text/html"), "could not be read: it is not JSON."),
        (Answer(body=b'{"orders": {"id": 1}}'), "could not be read: it has no list of &quot;orders&quot;."),
        (Answer(body=b'{"orders": [{"number": "7", "currency": "EUR"}]}'), "could not be read: order 1 has no total."),
        (
            Answer(body=json.dumps({"orders": [{"number": "7", "total": 1, "currency": "EURO"}]}).encode()),
            "could not be read: order 1&#x27;s currency is not a three-letter code.",
        ),
        (Answer(body=b"x" * (1024 * 1024 + 10)), "could not be read: it is longer than 1024 KiB."),
    ],
)
def test_an_endpoint_that_fails_or_answers_garbage_gives_a_message_never_a_500(
    agent_a: Any, ticket: Ticket, platform_api: FakePlatform, answer: Answer, message: str
) -> None:
    platform_api.answer("/orders", answer)
    configure(ticket.team, f"{platform_api.url}/orders")

    html = orders_of(client_for(agent_a), ticket)

    problem = re.search(r'id="orders-problem">(.*?)</p>', html, re.S)
    assert problem and message in problem.group(1)
    assert f'hx-get="/tickets/{ticket.number}/orders/"' in html, "the agent can ask again"


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A server on 127.0.0.1 that takes connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/orders"
    finally:
        server.close()


def test_an_endpoint_that_does_not_answer_in_time_is_given_up(
    agent_a: Any, ticket: Ticket, silent_endpoint: str, settings: Any
) -> None:
    settings.HELPDESK_COMMERCE_TIMEOUT = 0.3
    configure(ticket.team, silent_endpoint)

    html = orders_of(client_for(agent_a), ticket)

    assert "The order service did not answer within 0.3 seconds." in html


def test_the_timeout_is_three_seconds_unless_set(silent_endpoint: str) -> None:
    started = timezone.now()
    with pytest.raises(CommerceFailed, match="did not answer within 3 seconds"):
        orders_fetch(url=silent_endpoint, token="", contact="ann-42")
    assert timedelta(seconds=2.9) < timezone.now() - started < timedelta(seconds=6)


def test_an_endpoint_that_cannot_be_reached_is_said_so(agent_a: Any, ticket: Ticket) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    configure(ticket.team, f"http://127.0.0.1:{port}/orders")

    assert "The order service could not be reached" in orders_of(client_for(agent_a), ticket)


def test_the_token_is_not_sent_on_after_a_redirect(agent_a: Any, ticket: Ticket, platform_api: FakePlatform) -> None:
    for elsewhere in running_fake_platform():
        elsewhere.answer("/moved", ORDERS)
        platform_api.answer(
            "/orders", Answer(status=302, headers={"Location": f"{elsewhere.url}/moved?contact=ann-42"})
        )
        configure(ticket.team, f"{platform_api.url}/orders")

        assert "Order 1042" in orders_of(client_for(agent_a), ticket)

        assert platform_api.requests[0].headers["Authorization"] == "Bearer s3cret"
        assert "Authorization" not in elsewhere.requests[0].headers


def test_the_orders_of_a_ticket_the_agent_may_not_see_are_a_404_and_not_asked(
    agent_b: Any, ticket: Ticket, platform_api: FakePlatform
) -> None:
    configure(ticket.team, f"{platform_api.url}/orders")
    assert client_for(agent_b).get(f"/tickets/{ticket.number}/orders/", headers=HTMX).status_code == 404
    assert platform_api.requests == []


def test_without_javascript_the_orders_are_a_page_of_their_own(
    agent_a: Any, ticket: Ticket, platform_api: FakePlatform
) -> None:
    platform_api.answer("/orders", ORDERS)
    configure(ticket.team, f"{platform_api.url}/orders")

    response = client_for(agent_a).get(f"/tickets/{ticket.number}/orders/")

    html = response.content.decode()
    assert response.status_code == 200 and "<!doctype html>" in html
    assert f'<a href="/tickets/{ticket.number}/">Back to ticket #{ticket.number}</a>' in html
    assert "Order 1042" in html
    page = client_for(agent_a).get(f"/tickets/{ticket.number}/").content.decode()
    assert f'<noscript><p><a href="/tickets/{ticket.number}/orders/">Show the order history</a></p></noscript>' in page


# The parser, on its own


def test_totals_are_summed_as_decimals_never_as_floats() -> None:
    body = b'{"orders": [{"id": "a", "total": 0.1, "currency": "EUR"}, {"id": "b", "total": 0.2, "currency": "EUR"}]}'
    [total] = orders_parse(body).totals
    assert (total.currency, total.amount, total.count) == ("EUR", Decimal("0.3"), 2)


def test_an_order_reads_its_number_before_its_id_and_its_time_as_utc_when_it_has_no_offset() -> None:
    history = orders_parse(
        b'{"orders": [{"id": "x1", "number": "", "total": "1e3", "currency": "jpy", "placed_at": "2026-01-02T03:04:05",'
        b' "status": 7}]}'
    )
    [order] = history.orders
    assert (order.reference, order.currency, order.total_text, order.status) == ("x1", "JPY", "1,000", "")
    assert order.placed_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_an_optional_value_that_cannot_be_read_is_left_out() -> None:
    [order] = orders_parse(b'{"orders": [{"number": 5, "total": 5, "currency": "EUR", "placed_at": "soon"}]}').orders
    assert (order.reference, order.placed_at) == ("5", None)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "it is not JSON"),
        (b'{"orders": [{"number": "1", "total": NaN, "currency": "EUR"}]}', "it is not JSON"),
        (b"[]", 'it has no list of "orders"'),
        (b'{"orders": [1]}', "order 1 is not an object"),
        (b'{"orders": [{"total": 1, "currency": "EUR"}]}', "order 1 has neither a number nor an id"),
        (b'{"orders": [{"id": true, "total": 1, "currency": "EUR"}]}', "order 1 has neither a number nor an id"),
        (b'{"orders": [{"id": "1", "total": true, "currency": "EUR"}]}', "order 1 has no total"),
        (b'{"orders": [{"id": "1", "total": "12,50", "currency": "EUR"}]}', "order 1's total is not a number"),
        (b'{"orders": [{"id": "1", "total": "Infinity", "currency": "EUR"}]}', "order 1's total is not a number"),
        (b'{"orders": [{"id": "1", "total": 1, "currency": "E1R"}]}', "order 1's currency is not a three-letter code"),
    ],
)
def test_garbage_is_refused_with_what_is_wrong(body: bytes, why: str) -> None:
    with pytest.raises(CommerceFailed) as refused:
        orders_parse(body)
    assert str(refused.value) == f"The order service's answer could not be read: {why}."


def test_more_orders_than_shown_are_still_counted_in_the_totals() -> None:
    orders = [{"id": str(i), "total": "1.00", "currency": "EUR"} for i in range(60)]
    history = orders_parse(json.dumps({"orders": orders}).encode())
    assert (len(history.shown), history.not_shown) == (50, 10)
    assert history.totals[0].amount_text == "60.00"


# The endpoint is set per team in the admin


def test_the_admin_sets_a_teams_endpoint_and_keeps_its_token_secret(admin_client: Client, team_a: Any) -> None:
    change = f"/admin/tickets/team/{team_a.pk}/change/"
    page = admin_client.get(change)
    assert {"commerce_url", "commerce_token"} <= set(page.context["adminform"].form.fields)
    data = {**admin_form_data(page.context["adminform"].form), "commerce_url": "https://shop.example.com/api/orders"}
    data["commerce_token"] = "first-token"
    assert admin_client.post(change, data).status_code == 302
    team_a.refresh_from_db()
    assert (team_a.commerce_url, team_a.commerce_token) == ("https://shop.example.com/api/orders", "first-token")

    page = admin_client.get(change)
    assert "first-token" not in page.content.decode()
    assert re.search(r'<input type="password" name="commerce_token"[^>]*>', page.content.decode())
    assert "Set; leave empty to keep it." in page.content.decode()

    # Left empty (a browser sends a password field back empty), the token stays.
    data = {**admin_form_data(page.context["adminform"].form), "name": "Team A (EU)", "commerce_token": ""}
    assert admin_client.post(change, data).status_code == 302
    team_a.refresh_from_db()
    assert (team_a.name, team_a.commerce_token) == ("Team A (EU)", "first-token")

    # A new URL needs the token typed again: it goes only where it went before.
    data = {**admin_form_data(page.context["adminform"].form), "commerce_url": "https://other.example.net/"}
    data["commerce_token"] = ""
    refused = admin_client.post(change, data)
    assert refused.status_code == 200
    assert "Type it again: the commerce URL changed" in refused.content.decode()
    team_a.refresh_from_db()
    assert team_a.commerce_url == "https://shop.example.com/api/orders"
