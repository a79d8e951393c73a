"""The playground inside `serve --playground`, behind the service's token.

A browser cannot send `Authorization: Bearer` when a person opens a page, so
the token is exchanged once, on a login form, for a session: a random id the
server holds in memory, in a cookie that is HttpOnly (no script reads it),
SameSite=Strict (no other site's page sends it) and scoped to /playground (no
/v1 request carries it; /v1 still takes only the bearer token). The page's
POSTs must be JSON, which a form from elsewhere cannot send. A script may send
the bearer token itself instead of signing in. The token is never put in a
URL (logs and browser history keep URLs) and never echoed back.

Sessions end after SESSION_SECONDS, on "sign out", and when the server stops.
Everything here is the service's edge, not the core: it reads the clock."""

from __future__ import annotations

import hmac
import html
import secrets
import threading
import time
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route

from ..json_answer import JsonAnswer

COOKIE = "chat_recovery_playground"
SESSION_SECONDS = 12 * 3600  # a working day; then the token is asked for again
MAX_SESSIONS = 1000  # past it the oldest session ends: memory stays bounded whoever signs in
MAX_LOGIN_BODY = 4096
LOGIN_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Sessions:
    """Session ids handed out at login, with when each ends (monotonic seconds)."""

    def __init__(self, clock=time.monotonic, lifetime: float = SESSION_SECONDS, most: int = MAX_SESSIONS):
        self._clock, self._lifetime, self._most = clock, lifetime, most
        self._ends: dict[str, float] = {}
        self._lock = threading.Lock()

    def start(self) -> str:
        session = secrets.token_urlsafe(32)
        with self._lock:
            self._ends[session] = self._clock() + self._lifetime
            while len(self._ends) > self._most:
                del self._ends[next(iter(self._ends))]
        return session

    def valid(self, session: str | None) -> bool:
        if not session:
            return False
        with self._lock:
            ends = self._ends.get(session)
            if ends is not None and ends <= self._clock():
                del self._ends[session]
                ends = None
        return ends is not None

    def end(self, session: str | None) -> None:
        with self._lock:
            self._ends.pop(session or "", None)


def guarded(inner: Starlette, token: str, sessions: Sessions | None = None) -> Starlette:
    """`inner` (the playground's app) behind `token`: a login form at
    ./login, the page and its API for a session or a bearer token."""
    sessions = sessions or Sessions()

    async def login_form(request: Request) -> Response:
        return _login_page(request)

    async def login(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_LOGIN_BODY:
                return _login_page(request, "that is not the service's token", 401)
        given = parse_qs(body.decode("utf-8", "replace")).get("token", [""])[0].strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return _login_page(request, "that is not the service's token", 401)
        answer = RedirectResponse(_base(request) + "/", status_code=303, headers=LOGIN_HEADERS)
        answer.set_cookie(
            COOKIE,
            sessions.start(),
            max_age=SESSION_SECONDS,
            path=_base(request) or "/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return answer

    async def logout(request: Request) -> Response:
        sessions.end(request.cookies.get(COOKIE))
        answer = RedirectResponse(_base(request) + "/login", status_code=303, headers=LOGIN_HEADERS)
        answer.delete_cookie(COOKIE, path=_base(request) or "/", httponly=True, samesite="strict")
        return answer

    async def app(scope, receive, send) -> None:
        request = Request(scope)
        if sessions.valid(request.cookies.get(COOKIE)) or _bearer(request, token):
            await inner(scope, receive, send)
            return
        if request.method == "GET" and request.url.path.rstrip("/") == _base(request):
            answer: Response = RedirectResponse(_base(request) + "/login", status_code=303, headers=LOGIN_HEADERS)
        else:
            answer = JsonAnswer(
                {"error": "sign in first (the login form at /playground/login), or send Authorization: Bearer <token>"},
                status_code=401,
                headers={**LOGIN_HEADERS, "WWW-Authenticate": 'Bearer realm="chat-recovery"'},
            )
        await answer(scope, receive, send)

    return Starlette(
        routes=[
            Route("/login", login_form, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Mount("", app=app),
        ]
    )


def _bearer(request: Request, token: str) -> bool:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def _base(request: Request) -> str:
    """Where the playground is mounted (/playground), as the service routed it."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _login_page(request: Request, problem: str = "", status: int = 200) -> Response:
    note = f'<p role="alert" class="problem">{html.escape(problem, quote=False)}</p>' if problem else ""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in: chat-recovery playground</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>body{{font:16px system-ui,sans-serif;max-width:30rem;margin:4rem auto;padding:0 1rem}}
input{{font:inherit;width:100%;box-sizing:border-box;padding:.4rem}}button{{font:inherit;margin-top:1rem;padding:.4rem 1rem}}
.problem{{color:#a00000}}</style></head>
<body><main><h1>Policy playground</h1>
<p>This server's playground needs the service's bearer token (the one its <code>/v1</code> clients send).
Edits stay in this page and the server's memory: the policy in force never changes.</p>{note}
<form method="post" action="{html.escape(_base(request))}/login">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form></main></body></html>
"""
    return Response(page, status_code=status, media_type="text/html; charset=utf-8", headers=LOGIN_HEADERS)


def for_service(workspace, token: str | None) -> Starlette:
    """The playground as `serve --playground` mounts it. With a token: behind
    it, as above. Without one (the service then listens on loopback only, as
    its /v1 does): open, but only to requests naming this machine, as the
    `playground` command is (a page from another site cannot rebind a name to it)."""
    from .app import create_app

    inner = create_app(workspace, local_only=token is None)
    return guarded(inner, token) if token else inner
