"""A real HTTP API for the REST tests: stdlib ThreadingHTTPServer on 127.0.0.1, a free port.

It serves ``TOTAL`` records (``{"id", "name", "amount", "active", "tags", "meta"}``) under every
pagination style, an OAuth2 client-credentials token endpoint with short-lived tokens, API-key,
basic and bearer protected routes, and injects faults on demand: 503, 429 with Retry-After, a
connection dropped before any answer, or a body cut short.

Routes (all GET unless noted):
    POST /oauth/token                      client_credentials grant (form or Basic client auth)
    /page?page=&per_page=                  {"data": [...], "meta": {"total_pages": n}}
    /offset?offset=&limit=                 {"results": [...], "total": n}
    /cursor?cursor=&size=                  {"items": [...], "next_cursor": "..."|null}
    /next?after=&size=                     {"records": [...], "links": {"next": url|null}}
    /link?page=&size=                      [...] with Link: <url>; rel="next"
    /all                                   [...] every record
    /secure/<any route above>              same, behind the server's `auth_mode`
    /bad/json, /bad/object, /bad/scalars   malformed pages
    /status/<code>                         that status with a short body
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID = "cfwb-test-client"
CLIENT_SECRET = "s3cr3t-Client-Value-91"
API_KEY = "key-7f3a9c2e1d"
BASIC_USER, BASIC_PASSWORD = "etl", "Pa55-word-xyz"
STATIC_TOKEN = "static-bearer-abc123"


def make_record(i: int) -> dict:
    return {
        "id": i,
        "name": f"élément {i}",
        "amount": round(i * 1.25, 2),
        "active": i % 2 == 0,
        "tags": ["a", "b"][: i % 3],
        "meta": {"source": "test", "rank": i % 7},
    }


@dataclass
class ServerState:
    total: int = 10_000
    page_size: int = 100
    token_lifetime: float = 2.0
    auth_mode: str = "oauth2"  # oauth2 | api_key_header | api_key_query | basic | bearer
    faults: dict[str, list[str]] = field(default_factory=dict)  # request key -> faults still to inject
    fail_every: int = 0  # inject one fault on the first try of every n-th page (0: off)
    fault_cycle: tuple[str, ...] = ("503", "429", "drop", "truncate")
    retry_after: str = "0"
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    token_requests: int = 0
    log: list[tuple[str, int]] = field(default_factory=list)  # (path?query, status or -1 for a fault)
    injected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _tried: set = field(default_factory=set)

    def reset_counters(self) -> None:
        with self.lock:
            self.log.clear()
            self.injected = 0
            self.token_requests = 0
            self._tried.clear()


class _Handler(BaseHTTPRequestHandler):
    server: ApiServer  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 1 << 16  # headers and body leave in one write (no 40 ms delayed-ACK stall per request)

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def state(self) -> ServerState:
        return self.server.state

    def _send(self, status: int, body, headers: dict | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        with self.state.lock:  # logged before answering, so a client that got the answer sees it logged
            self.state.log.append((self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)
        self.wfile.flush()

    def _fault(self, kind: str) -> None:
        with self.state.lock:
            self.state.injected += 1
            if kind in ("drop", "truncate", "sleep"):
                self.state.log.append((self.path, -1))
        if kind == "503":
            self._send(503, {"error": "maintenance"})
        elif kind == "500":
            self._send(500, {"error": "boom"})
        elif kind == "429":
            self._send(429, {"error": "slow down"}, {"Retry-After": self.state.retry_after})
        elif kind == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
        elif kind == "truncate":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "5000")
            self.end_headers()
            self.wfile.write(b'[{"id": 1, "na')
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
        elif kind == "sleep":
            time.sleep(1.0)
            self.close_connection = True  # the client gave up waiting; nobody reads this answer

    def _maybe_fault(self, key: str, page_index: int) -> bool:
        st = self.state
        with st.lock:
            planned = st.faults.get(key)
            kind = planned.pop(0) if planned else None
            if (
                kind is None
                and st.fail_every
                and page_index >= 0
                and page_index % st.fail_every == st.fail_every - 1
                and key not in st._tried
            ):
                kind = st.fault_cycle[(page_index // st.fail_every) % len(st.fault_cycle)]
            st._tried.add(key)
        if kind:
            self._fault(kind)
            return True
        return False

    def _authorized(self, query: dict) -> bool:
        st = self.state
        header = self.headers.get("Authorization", "")
        if st.auth_mode == "oauth2":
            token = header.removeprefix("Bearer ")
            with st.lock:
                expiry = st.tokens.get(token)
            return expiry is not None and time.monotonic() < expiry
        if st.auth_mode == "bearer":
            return header == f"Bearer {STATIC_TOKEN}"
        if st.auth_mode == "basic":
            expected = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
            return header == f"Basic {expected}"
        if st.auth_mode == "api_key_header":
            return self.headers.get("X-API-Key") == API_KEY
        if st.auth_mode == "api_key_query":
            return query.get("api_key", [None])[0] == API_KEY
        return False

    def _records(self, start: int, size: int) -> list[dict]:
        end = min(start + size, self.state.total)
        return [make_record(i) for i in range(start, max(start, end))]

    def _base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # -- routes --------------------------------------------------------------------------------
    def do_POST(self) -> None:  # stdlib hook name
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        if urlsplit(self.path).path != "/oauth/token":
            self._send(404, {"error": "not found"})
            return
        if self._maybe_fault("token", -1):
            return
        client_id = form.get("client_id", [None])[0]
        secret = form.get("client_secret", [None])[0]
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        if form.get("grant_type", [None])[0] != "client_credentials" or (client_id, secret) != (
            CLIENT_ID,
            CLIENT_SECRET,
        ):
            self._send(
                401, {"error": "invalid_client", "error_description": f"bad credentials for {client_id}"}
            )
            return
        token = "tok-" + secrets.token_hex(12)
        with self.state.lock:
            self.state.token_requests += 1
            self.state.tokens[token] = time.monotonic() + self.state.token_lifetime
        self._send(
            200, {"access_token": token, "token_type": "Bearer", "expires_in": self.state.token_lifetime}
        )

    def do_GET(self) -> None:  # stdlib hook name
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        path = parts.path
        if path.startswith("/secure/"):
            if not self._authorized(query):
                self._send(401, {"error": "unauthorized"})
                return
            path = path[len("/secure") :]
        q = {k: v[0] for k, v in query.items()}
        st = self.state
        size = int(q.get("per_page") or q.get("limit") or q.get("size") or st.page_size)
        if path == "/page":
            page = int(q.get("page", 1))
            if self._maybe_fault(f"page:{page}", page - 1):
                return
            total_pages = -(-st.total // size)
            self._send(
                200, {"data": self._records((page - 1) * size, size), "meta": {"total_pages": total_pages}}
            )
        elif path == "/offset":
            offset = int(q.get("offset", 0))
            if self._maybe_fault(f"offset:{offset}", offset // size):
                return
            self._send(200, {"results": self._records(offset, size), "total": st.total})
        elif path == "/cursor":
            start = int(base64.urlsafe_b64decode(q["cursor"]).decode()) if q.get("cursor") else 0
            if self._maybe_fault(f"cursor:{start}", start // size):
                return
            nxt = start + size
            cursor = base64.urlsafe_b64encode(str(nxt).encode()).decode() if nxt < st.total else None
            self._send(200, {"items": self._records(start, size), "next_cursor": cursor})
        elif path == "/next":
            after = int(q.get("after", 0))
            if self._maybe_fault(f"next:{after}", after // size):
                return
            nxt = after + size
            prefix = "/secure" if parts.path.startswith("/secure/") else ""
            link = (
                f"{self._base()}{prefix}/next?{urlencode({'after': nxt, 'size': size})}"
                if nxt < st.total
                else None
            )
            self._send(200, {"records": self._records(after, size), "links": {"next": link}})
        elif path == "/link":
            page = int(q.get("page", 1))
            if self._maybe_fault(f"link:{page}", page - 1):
                return
            headers = {}
            if page * size < st.total:
                prefix = "/secure" if parts.path.startswith("/secure/") else ""
                headers["Link"] = (
                    f'<{prefix}/link?page={page + 1}&size={size}>; rel="next", <{prefix}/link?page=1&size={size}>; rel="first"'
                )
            self._send(200, self._records((page - 1) * size, size), headers)
        elif path == "/all":
            if self._maybe_fault("all", 0):
                return
            self._send(200, self._records(0, st.total))
        elif path == "/bad/json":
            self._send(200, b'{"data": [1, 2')
        elif path == "/bad/object":
            self._send(200, {"data": {"id": 1}, "count": 1})
        elif path == "/bad/scalars":
            self._send(200, [1, 2, 3])
        elif path == "/bad/second_page":
            page = int(q.get("page", 1))
            self._send(
                200, {"data": self._records((page - 1) * 10, 10)} if page == 1 else b"<html>oops</html>"
            )
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self._send(code, {"error": f"status {code}", "echo": parts.query})
        elif path == "/echo":
            self._send(200, {"headers": dict(self.headers), "query": q})
        else:
            self._send(404, {"error": f"no route {path}"})


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0, **state):
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = ServerState(**state)
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="test-api-server", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)

    def requests_for(self, prefix: str) -> list[tuple[str, int]]:
        with self.state.lock:
            return [entry for entry in self.state.log if entry[0].startswith(prefix)]
