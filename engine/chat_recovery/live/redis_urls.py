"""Redis store URLs: how one is shown (its secret hidden), and how a
cluster URL (`redis+cluster://host:port[,host:port...]`) becomes the
startup nodes and options of redis-py's RedisCluster. Kept apart from the
store so both can be read (and tested) without a server."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from .store import StoreMisconfigured

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")  # the second over TLS


def redacted(url: str) -> str:
    """The URL as it may be shown to anyone (answers, logs, the banner): its
    user and password as `***`, and a `password=` query value hidden too.
    Everything before the URL's last `@` is hidden, so a password holding an
    unencoded `/`, `?`, `#` or `@` is hidden whole, not cut where a URL
    parser would cut it."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "***" if "@" in url else url
    _, at, rest = rest.rpartition("@")  # the user and password: never shown
    try:
        parts = urlsplit(f"{scheme}://{rest}")
    except ValueError:
        return f"{scheme}://***"
    query = "&".join(
        f"{k}=***" if k.lower() in ("password", "pass", "auth") else f"{k}{eq}{v}"
        for k, eq, v in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    shown = f"{scheme}://{'***@' if at else ''}{parts.netloc}{parts.path}"
    return shown + (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")


def is_cluster(url: str) -> bool:
    return url.partition("://")[0].lower() in CLUSTER_SCHEMES


def cluster_target(url: str) -> tuple[list[tuple[str, int]], dict]:
    """(host, port) of each startup node, and RedisCluster's keyword
    options (user, password, TLS). A cluster has one database, so a path
    other than `/` or `/0` is refused, as is a query (nothing reads it)."""
    scheme, _, rest = url.partition("://")
    userinfo, at, rest = rest.rpartition("@")
    hosts, slash, path = rest.partition("/")
    shown = redacted(url)
    if "?" in hosts or "#" in hosts or "?" in path or "#" in path:
        raise StoreMisconfigured(
            f"{shown}: a Redis Cluster URL takes no query: write {scheme}://[user:password@]host:port[,host:port...]"
        )
    if slash and path not in ("", "0"):
        raise StoreMisconfigured(
            f"{shown}: a Redis Cluster has one database (0), so /{path} cannot be selected: drop it from the URL"
        )
    nodes = []
    for item in hosts.split(","):
        host, colon, port = item.strip().rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise StoreMisconfigured(f"{shown}: {item.strip()!r} is not host:port; write {scheme}://host:port[,host:port...]")
        nodes.append((host.strip("[]"), int(port)))
    options: dict = {"ssl": scheme.lower() == "rediss+cluster"}
    if at:
        user, colon, password = userinfo.partition(":")
        options.update(username=unquote(user) or None, password=unquote(password) if colon else None)
    return nodes, options
