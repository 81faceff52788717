"""The agents' websocket against the real server process: who receives which events, and catching up."""

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from guardian.shortcuts import assign_perm
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.support import post_signed
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def socket_for(base_url: str, cookie: str | None) -> Iterator[ClientConnection]:
    headers = {"Origin": base_url}
    if cookie:
        headers["Cookie"] = f"sessionid={cookie}"
    with connect(base_url.replace("http", "ws") + "/ws/agent/", additional_headers=headers, open_timeout=10) as ws:
        yield ws


def next_frame(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return dict(json.loads(ws.recv(timeout=timeout)))


def test_a_socket_without_a_session_is_refused(live_server_url: str) -> None:
    with pytest.raises(InvalidStatus) as refused, socket_for(live_server_url, None):
        pass
    assert refused.value.response.status_code == 403


def test_each_agent_receives_only_their_teams_events(
    live_server_url: str,
    session_cookie: Callable[[Any], str],
    agent_a: Any,
    agent_b: Any,
    account_a: Any,
    account_b: Any,
) -> None:
    with (
        socket_for(live_server_url, session_cookie(agent_a)) as ws_a,
        socket_for(live_server_url, session_cookie(agent_b)) as ws_b,
    ):
        posted_b = post_signed(live_server_url, account_b, sender_id="b-cust", text="for team B")
        posted_a = post_signed(live_server_url, account_a, sender_id="a-cust", text="for team A")
        # Frames reach a socket in the order they were published, and B's were published first: if any
        # frame about B's ticket were meant for A, it would arrive before A's own.
        first_a, second_a = next_frame(ws_a), next_frame(ws_a)
        assert [first_a["kind"], second_a["kind"]] == ["created", "message_in"]
        assert {first_a["ticket"]["number"], second_a["ticket"]["number"]} == set(posted_a["tickets"])
        first_b = next_frame(ws_b)
        assert first_b["ticket"]["number"] == posted_b["tickets"][0]
        assert first_b["data"] == {"subject": "for team B"}


def test_a_new_message_arrives_within_a_second(
    live_server_url: str, session_cookie: Callable[[Any], str], agent_a: Any, account_a: Any
) -> None:
    with socket_for(live_server_url, session_cookie(agent_a)) as ws:
        started = time.monotonic()
        post_signed(live_server_url, account_a, text="quick")
        frame = next_frame(ws, timeout=1.0)
        assert frame["kind"] == "created"
        assert time.monotonic() - started < 1.0


def test_a_reconnecting_socket_catches_up_on_what_it_missed(
    live_server_url: str, session_cookie: Callable[[Any], str], agent_a: Any, account_a: Any, account_b: Any
) -> None:
    cookie = session_cookie(agent_a)
    with socket_for(live_server_url, cookie) as ws:
        post_signed(live_server_url, account_a, sender_id="c-1", text="seen live")
        last_seen = max(next_frame(ws)["id"], next_frame(ws)["id"])
    # Offline: one message for A's team, one for B's.
    post_signed(live_server_url, account_b, sender_id="c-b", text="not for A")
    missed = post_signed(live_server_url, account_a, sender_id="c-1", text="missed while offline")
    with socket_for(live_server_url, cookie) as ws:
        ws.send(json.dumps({"type": "resume", "after": last_seen}))
        frame = next_frame(ws)
        assert frame["kind"] == "message_in"
        assert frame["data"]["message_id"] == missed["messages"][0]
        assert next_frame(ws) == {"type": "resumed", "after": last_seen, "complete": True}


def test_bad_client_messages_get_an_error_frame(
    live_server_url: str, session_cookie: Callable[[Any], str], agent_a: Any
) -> None:
    with socket_for(live_server_url, session_cookie(agent_a)) as ws:
        ws.send(json.dumps({"type": "resume", "after": "yesterday"}))
        assert next_frame(ws) == {"type": "error", "error": "'after' must be a non-negative event id"}
        ws.send("not json at all")
        assert next_frame(ws)["type"] == "error"


@pytest.mark.production_stack
def test_a_grant_given_in_another_process_reaches_an_open_socket(
    live_server_url: str, session_cookie: Callable[[Any], str], agent_a: Any, account_a: Any, account_b: Any
) -> None:
    post_signed(live_server_url, account_b, sender_id="c-b", text="before the grant")
    ticket_b = Ticket.objects.get()
    with socket_for(live_server_url, session_cookie(agent_a)) as ws:
        assign_perm("view_ticket", agent_a, ticket_b)
        # The grant reaches the socket as a control message; wait until a later event shows it applied.
        deadline = time.monotonic() + 5
        received: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not received:
            post_signed(live_server_url, account_b, sender_id="c-b", text="after the grant")
            try:
                received.append(next_frame(ws, timeout=0.5))
            except TimeoutError:
                continue
        assert received and received[0]["ticket"]["id"] == ticket_b.pk
