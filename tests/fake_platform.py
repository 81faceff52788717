"""A fake social platform: a real HTTP server on 127.0.0.1 that records every request and answers as told.

Connectors send replies to `credentials.base_url`; tests point it at `FakePlatform.url`. Nothing is mocked:
the connector's real HTTP client talks to a real server.
"""

import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request the fake platform received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(self.body.decode())


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)  # more response headers: Location, Content-Disposition


@dataclass
class FakePlatform:
    """Answers requests whose path starts with a prefix given to `answer`, in order (the last one repeats)."""

    requests: list[Received] = field(default_factory=list)
    _answers: dict[str, list[Answer]] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, prefix: str, *answers: Answer | dict[str, Any]) -> None:
        """Answer requests to paths starting with `prefix` with `answers` in turn (dicts as 200 JSON)."""
        self._answers[prefix] = [a if isinstance(a, Answer) else Answer(body=json.dumps(a).encode()) for a in answers]

    def _respond(self, path: str) -> Answer:
        prefix = max((p for p in self._answers if path.startswith(p)), key=len, default=None)
        if prefix is None:
            return Answer()
        queue = self._answers[prefix]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def start(self) -> None:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parsed = urllib.parse.urlsplit(self.path)
                platform.requests.append(
                    Received(
                        method=self.command,
                        path=parsed.path,
                        query=urllib.parse.parse_qs(parsed.query),
                        headers=dict(self.headers.items()),
                        body=self.rfile.read(length),
                    )
                )
                answer = platform._respond(parsed.path)
                # headers={"Transfer-Encoding": "chunked"}: a body of unannounced length, as streamed files come.
                chunked = answer.headers.get("Transfer-Encoding") == "chunked"
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                if not chunked:
                    self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if chunked:
                    self.wfile.write(
                        b"%x\r\n%s\r\n0\r\n\r\n" % (len(answer.body), answer.body) if answer.body else b"0\r\n\r\n"
                    )
                else:
                    self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def running_fake_platform() -> Iterator[FakePlatform]:
    """Body of the `fake_platform` fixture: a started fake platform, stopped afterwards."""
    platform = FakePlatform()
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()
