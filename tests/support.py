"""Helpers shared by the tests: signed deliveries, a fake platform, servers started as real processes."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tickets.connectors import api

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"


_FRESH = "<fresh>"


def delivery_body(
    *,
    message_id: str | None = _FRESH,
    sender_id: str = "cust-1",
    sender_name: str = "Ann Customer",
    text: str = "Hello, my parcel is late",
    sent_at: str = "2026-11-23T09:30:00Z",
    **extra: Any,
) -> bytes:
    """A JSON body for the API channel webhook; a field given as None is left out."""
    payload: dict[str, Any] = {
        "message_id": str(uuid.uuid4()) if message_id == _FRESH else message_id,
        "sender_id": sender_id,
        "sender_name": sender_name,
        "text": text,
        "sent_at": sent_at,
    }
    payload.update(extra)
    return json.dumps({k: v for k, v in payload.items() if v is not None}).encode()


def signed_headers(secret: str, body: bytes) -> dict[str, str]:
    """The headers a correct sender puts on `body`."""
    return {api.SIGNATURE_HEADER: api.sign(secret, body), "Content-Type": "application/json"}


def post_signed(base_url: str, account: Any, **fields: Any) -> dict[str, Any]:
    """POST a signed message to a running server's API webhook, as a platform would; its JSON answer."""
    body = delivery_body(**fields)
    request = urllib.request.Request(
        f"{base_url}/webhooks/api/{account.pk}/", data=body, method="POST", headers=signed_headers(account.secret, body)
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until something listens on `port`, failing early if `process` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {timeout} s")


def server_env(database: dict[str, Any]) -> dict[str, str]:
    """The environment for a helpdesk process that must use the test database."""
    env = dict(os.environ)
    if database["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{database['NAME']}"
    else:
        auth = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
        env["DATABASE_URL"] = f"postgres://{auth}@{database['HOST']}:{database['PORT'] or 5432}/{database['NAME']}"
    env["PYTHONPATH"] = str(ROOT)
    # Where the server ticks SLA clocks itself (the embedded default), a breach is recorded within a second,
    # so browser tests see the server's word on it soon after the countdown's.
    env.setdefault("HELPDESK_SLA_TICK_SECONDS", "1")
    # Escalation webhooks retried within seconds, not minutes, so a test sees a call through to its end.
    env.setdefault("HELPDESK_WEBHOOK_BACKOFF_SECONDS", "0.3")
    env.setdefault("HELPDESK_WEBHOOK_MAX_ATTEMPTS", "4")
    env.setdefault("HELPDESK_WEBHOOK_TIMEOUT", "2")
    # A reply or a file fetch that fails is tried again within a fraction of a second; more tries than Celery's
    # own default cap of 3 retries, so that the helpdesk's count is what ends them.
    env.setdefault("HELPDESK_ATTACHMENT_MAX_TRIES", "6")
    env.setdefault("HELPDESK_ATTACHMENT_BACKOFF_SECONDS", "0.05")
    env.setdefault("HELPDESK_OUTBOUND_BACKOFF_SECONDS", "0.05")
    return env


def start_process(
    args: list[str], *, env: dict[str, str], log_name: str, new_session: bool = False
) -> subprocess.Popen[bytes]:
    """Run `python <args>` from the repository root, logging to build/<log_name>.

    `new_session` puts it in a process group of its own, so that it can be killed with its children.
    """
    BUILD.mkdir(exist_ok=True)
    log = open(BUILD / log_name, "wb")
    return subprocess.Popen(
        [sys.executable, *args],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=new_session,
    )


def start_celery_worker(
    env: dict[str, str], *, name: str, concurrency: int = 2, new_session: bool = False
) -> subprocess.Popen[bytes]:
    """A real Celery worker process of the helpdesk, named `name`, on the queue its environment sets."""
    return start_process(
        [
            "-m",
            "celery",
            "-A",
            "helpdesk",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"{name}@%h",
        ],
        env=env,
        log_name=f"celery-{name}.log",
        new_session=new_session,
    )


def wait_for_worker(app: Any, name: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until the worker `name` answers a ping."""
    deadline = time.monotonic() + timeout
    while not any(key.startswith(f"{name}@") for reply in app.control.ping(timeout=0.5) or [] for key in reply):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Celery worker {name} did not start; see build/celery-{name}.log")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakePlatform:
    """A platform's callback endpoint on 127.0.0.1: records requests, answers with scripted statuses."""

    url: str
    requests: list[RecordedRequest] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    reply_id: str = "platform-msg-1"
    raw_answer: bytes | None = None  # answer this body instead of {"id": reply_id}

    def wait_for_requests(self, count: int, timeout: float = 20.0) -> list[RecordedRequest]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.requests


def serve_fake_platform() -> Iterator[FakePlatform]:
    platform = FakePlatform(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            platform.requests.append(RecordedRequest(self.path, dict(self.headers.items()), body))
            status = platform.statuses.pop(0) if platform.statuses else 200
            answer = json.dumps({"id": platform.reply_id} if status < 300 else {"error": "nope"}).encode()
            if platform.raw_answer is not None:
                answer = platform.raw_answer
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    platform.url = f"http://127.0.0.1:{server.server_address[1]}/callback"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield platform
    finally:
        server.shutdown()
        server.server_close()


def admin_form_data(form: Any) -> dict[str, Any]:
    """The POST data that resubmits an admin form as it was shown (empty multi-selects left out)."""
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, (list, tuple)):
            if value:
                data[name] = [str(item) for item in value]
        else:
            data[name] = "" if value is None else value
    return data


def admin_change_data(page: Any) -> dict[str, Any]:
    """The POST data that resubmits an admin change page as it was shown: its form and every inline row."""
    data = admin_form_data(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        for bound in formset.management_form:
            data[bound.html_name] = bound.value()
        for form in formset.forms:
            for name in form.fields:
                value = form[name].value()
                if isinstance(value, (list, tuple)):
                    if value:  # a multi-select: one value per choice, none when empty
                        data[form[name].html_name] = [str(item) for item in value]
                elif value is True:
                    data[form[name].html_name] = "on"
                elif value is not None and value is not False:  # 0 (Monday, say) is a value
                    data[form[name].html_name] = str(value)
    return data


def webhook_ticket(account: Any, *, sender: str = "c-1", text: str = "Hello", client: Any = None) -> Any:
    """Post a signed delivery through the test client, as a platform would; the ticket it landed on."""
    from django.test import Client

    from tickets.models import Ticket

    body = delivery_body(sender_id=sender, text=text)
    response = (client or Client()).post(
        f"/webhooks/api/{account.pk}/",
        data=body,
        content_type="application/json",
        headers=signed_headers(account.secret, body),
    )
    assert response.status_code == 200, response.content
    return Ticket.objects.get(number=response.json()["tickets"][0])


def wait_until(condition: Any, *, what: str, timeout: float = 30.0) -> Any:
    """Poll until `condition()` is truthy and return it: for work another process (a worker, a server) does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def wait_for_status(message: Any, *, not_in: set[str], timeout: float = 30.0) -> Any:
    """`message` once its delivery status has left `not_in` (a real worker sends it in the production pass)."""
    return wait_for_field(message, "delivery_status", not_in=not_in, timeout=timeout)


def wait_for_field(row: Any, field: str, *, not_in: set[str], timeout: float = 30.0) -> Any:
    """`row`, refreshed, once its `field` has left `not_in` (a real worker changes it in the production pass)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row.refresh_from_db()
        if getattr(row, field) not in not_in:
            return row
        time.sleep(0.05)
    raise AssertionError(f"{type(row).__name__} {row.pk} stayed {field}={getattr(row, field)} for {timeout} s")
