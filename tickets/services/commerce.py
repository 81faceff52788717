"""A contact's order history from their team's commerce endpoint, for the contact panel of the ticket page.

A team names its endpoint in the admin (Team.commerce_url, and Team.commerce_token). For a ticket it is asked

    GET <commerce_url>?contact=<the platform user id of the ticket's contact identity>
    Authorization: Bearer <commerce_token>     (left out when the team has no token)
    Accept: application/json

and answers 200 with JSON of this form:

    {"orders": [
        {"id": "ord_81", "number": "1042", "placed_at": "2026-11-20T10:15:00Z",
         "total": "59.90", "currency": "EUR", "status": "shipped"},
        ...
    ]}

- "orders" (required) is a list, shown in the order given (newest first is the endpoint's to choose); other
  top-level keys are ignored. A contact with no orders: {"orders": []}.
- Each order is an object. "total" (required): a number or a decimal string. "currency" (required): a
  three-letter code such as "EUR". "number" or "id" (at least one): what the agent reads out to the customer.
  "placed_at" (optional): an ISO 8601 time, UTC when it has no offset. "status" (optional): a word such as
  "paid" or "shipped". Other keys are ignored; an optional value that cannot be read is left out.

The panel lists the orders (the first MAX_SHOWN) with each total, and the sum per currency of all of them.
Anything else (no answer within the timeout, a refused connection, a status other than 200, a body that is not
such JSON, more than MAX_BYTES) is a CommerceFailed whose message the panel shows: the ticket page never fails
because of it. A good answer is kept for CACHE_SECONDS per ticket, so opening the ticket again asks no more.
"""

import hashlib
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.cache import cache

from tickets.models import Ticket

TIMEOUT_SECONDS = 3.0
CACHE_SECONDS = 60
MAX_BYTES = 1024 * 1024
MAX_SHOWN = 50
SERVICE = "The order service"


class CommerceNotConfigured(Exception):
    """The ticket's team names no commerce endpoint."""


class CommerceFailed(Exception):
    """The commerce endpoint gave no usable answer; the message says what happened, for the agent."""


def amount_text(amount: Decimal) -> str:
    """An amount as the panel writes it: digits grouped, never an exponent ("1,234.50")."""
    return format(amount, ",f")


@dataclass(frozen=True)
class Order:
    """One order of the contact, as the endpoint described it."""

    reference: str
    total: Decimal
    currency: str
    placed_at: datetime | None = None
    status: str = ""

    @property
    def total_text(self) -> str:
        return amount_text(self.total)


@dataclass(frozen=True)
class CurrencyTotal:
    """The sum of the orders in one currency."""

    currency: str
    amount: Decimal
    count: int

    @property
    def amount_text(self) -> str:
        return amount_text(self.amount)


@dataclass(frozen=True)
class OrderHistory:
    """A contact's orders and their sums per currency (in the order currencies first appear)."""

    orders: tuple[Order, ...]
    totals: tuple[CurrencyTotal, ...]

    @property
    def shown(self) -> tuple[Order, ...]:
        return self.orders[:MAX_SHOWN]

    @property
    def not_shown(self) -> int:
        return max(0, len(self.orders) - MAX_SHOWN)


def orders_parse(body: bytes) -> OrderHistory:
    """The order history in an endpoint's answer; CommerceFailed saying what is wrong when it is not one."""
    try:
        # Decimals, never floats: 0.1 + 0.2 must sum to 0.3.
        document = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise _unreadable("it is not JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("orders"), list):
        raise _unreadable('it has no list of "orders"')
    orders = tuple(_order(raw, position) for position, raw in enumerate(document["orders"], start=1))
    sums: dict[str, tuple[Decimal, int]] = {}
    for order in orders:
        amount, count = sums.get(order.currency, (Decimal(0), 0))
        sums[order.currency] = (amount + order.total, count + 1)
    totals = tuple(CurrencyTotal(currency, amount, count) for currency, (amount, count) in sums.items())
    return OrderHistory(orders=orders, totals=totals)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _unreadable(why: str) -> CommerceFailed:
    return CommerceFailed(f"{SERVICE}'s answer could not be read: {why}.")


def _order(raw: object, position: int) -> Order:
    if not isinstance(raw, dict):
        raise _unreadable(f"order {position} is not an object")
    reference = next((raw[key] for key in ("number", "id") if _is_reference(raw.get(key))), None)
    if reference is None:
        raise _unreadable(f"order {position} has neither a number nor an id")
    return Order(
        reference=str(reference),
        total=_total(raw.get("total"), position),
        currency=_currency(raw.get("currency"), position),
        placed_at=_time(raw.get("placed_at")),
        status=raw["status"].strip()[:50] if isinstance(raw.get("status"), str) else "",
    )


def _is_reference(value: object) -> bool:
    return (isinstance(value, str) and bool(value.strip())) or (isinstance(value, int) and not isinstance(value, bool))


def _total(value: object, position: int) -> Decimal:
    # bool is an int to Python, and True is no price.
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise _unreadable(f"order {position} has no total")
    try:
        total = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation as exc:
        raise _unreadable(f"order {position}'s total is not a number") from exc
    if not total.is_finite():
        raise _unreadable(f"order {position}'s total is not a number")
    return total


def _currency(value: object, position: int) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if not (len(code) == 3 and code.isascii() and code.isalpha()):
        raise _unreadable(f"order {position}'s currency is not a three-letter code")
    return code


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def orders_fetch(*, url: str, token: str, contact: str, timeout: float = TIMEOUT_SECONDS) -> OrderHistory:
    """Ask the endpoint at `url` for the orders of `contact` (a platform user id); CommerceFailed if it fails."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommerceFailed(f"{SERVICE}'s URL must start with http:// or https://.")
    query = urllib.parse.urlencode([*urllib.parse.parse_qsl(parts.query), ("contact", contact)])
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        urllib.parse.urlunsplit(parts._replace(query=query)), method="GET", headers={"Accept": "application/json"}
    )
    if token:
        # Not sent on after a redirect: the token is for the endpoint the team named, no other host.
        request.add_unredirected_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the scheme is checked above
            if response.status != 200:
                raise CommerceFailed(f"{SERVICE} answered HTTP {response.status} instead of the orders.")
            body = bytes(response.read(MAX_BYTES + 1))
    except urllib.error.HTTPError as exc:
        raise CommerceFailed(_refusal(exc.code)) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _timed_out(timeout) from exc
        raise CommerceFailed(f"{SERVICE} could not be reached ({exc.reason}).") from exc
    except TimeoutError as exc:
        raise _timed_out(timeout) from exc
    except (http.client.HTTPException, OSError, ValueError) as exc:
        raise _unreadable(f"the connection broke ({type(exc).__name__})") from exc
    if len(body) > MAX_BYTES:
        raise _unreadable(f"it is longer than {MAX_BYTES // 1024} KiB")
    return orders_parse(body)


def _refusal(status: int) -> str:
    if status in (401, 403):
        return f"{SERVICE} refused the team's token (HTTP {status}): a team lead can check it in the admin."
    return f"{SERVICE} answered HTTP {status} instead of the orders."


def _timed_out(timeout: float) -> CommerceFailed:
    return CommerceFailed(f"{SERVICE} did not answer within {timeout:g} seconds.")


def ticket_orders(ticket: Ticket, *, timeout: float = TIMEOUT_SECONDS) -> OrderHistory:
    """The order history of `ticket`'s contact from its team's endpoint, kept for a minute per ticket.

    CommerceNotConfigured when the team names no endpoint; CommerceFailed when the endpoint fails.
    """
    team, contact = ticket.team, ticket.identity.external_id
    if not team.commerce_url:
        raise CommerceNotConfigured(f"Order history is not configured for {team.name}.")
    # The key holds the endpoint, token and contact too: a change in the admin is seen at once.
    asked = hashlib.sha256(f"{team.commerce_url}\n{team.commerce_token}\n{contact}".encode()).hexdigest()
    key = f"helpdesk:orders:{ticket.pk}:{asked}"
    history: OrderHistory | None = cache.get(key)
    if history is None:
        history = orders_fetch(url=team.commerce_url, token=team.commerce_token, contact=contact, timeout=timeout)
        cache.set(key, history, CACHE_SECONDS)  # only good answers: a failure is asked again next time
    return history
