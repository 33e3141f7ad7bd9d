"""Local servers for notification tests: an HTTP server recording Teams/ntfy posts, an SMTP server with STARTTLS."""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tls_certificates import self_signed_certificate


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict


@dataclass
class HttpRecorder:
    """Answers 200 to every POST and records it; POSTs under ``/fail`` get a 500 echoing the URL."""

    url: str
    requests: list[RecordedRequest] = field(default_factory=list)


def start_http_recorder():
    recorder = HttpRecorder(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            recorder.requests.append(
                RecordedRequest(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw or b"{}")
                )
            )
            status, body = (
                (500, f"internal error for {self.path}".encode())
                if self.path.startswith("/fail")
                else (200, b"1")
            )
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, recorder


@dataclass
class SmtpServer:
    host: str
    port: int
    ca_file: str
    user: str
    password: str
    messages: list = field(default_factory=list)


def start_smtp_server(folder: Path, port: int):
    """aiosmtpd requiring STARTTLS and a sign-in (user ``dagster``); returns (controller, SmtpServer)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = self_signed_certificate(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    info = SmtpServer("127.0.0.1", port, str(cert), "dagster", "s3cr3t-smtp")

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            info.messages.append(
                (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default))
            )
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == info.user.encode() and auth_data.password == info.password.encode()
        return AuthResult(success=ok)

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticate,
    )
    controller.start()
    return controller, info
