"""A tiny local HTTP file server for download tests: Range requests, cut connections, HTML pages.

Binds 127.0.0.1 on an ephemeral port, serves in-memory bodies by exact path (query string included), and records
every request. Nothing here is dataset-specific.
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class _Body:
    data: bytes
    content_type: str
    cut_after: int | None  # send this many bytes of the first full response, then drop the connection


class FileServer:
    """Serve bodies on ``http://127.0.0.1:<port>``; use as a context manager.

    Attributes:
        requests: ``(path, Range header or None)`` of every request, in order.
    """

    def __init__(self) -> None:
        self._bodies: dict[str, _Body] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                body = server._bodies.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                data, start, status = body.data, 0, 200
                if rng and (match := re.fullmatch(r"bytes=(\d+)-", rng)):
                    start = int(match.group(1))
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                self.send_response(status)
                self.send_header("Content-Type", body.content_type)
                self.send_header("Content-Length", str(len(data) - start))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if body.cut_after is not None and start == 0:
                    self.wfile.write(data[: body.cut_after])
                    self.wfile.flush()
                    body.cut_after = None
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(data[start:])

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def add(
        self, path: str, data: bytes, *, content_type: str = "application/octet-stream", cut_after: int | None = None
    ) -> str:
        """Serve ``data`` at ``path``; return its URL. ``cut_after``: drop the first full response after that many bytes."""
        self._bodies[path] = _Body(data, content_type, cut_after)
        return self.url(path)

    def add_html(self, path: str, page: str) -> str:
        """Serve an HTML page at ``path``; return its URL."""
        return self.add(path, page.encode(), content_type="text/html; charset=utf-8")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
