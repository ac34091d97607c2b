"""The one address guard for every URL the bot fetches from outside: a 统发 link (titles) and a download address
the QQ client gives for a handed-in file.

How it holds: only http/https; the host is resolved once and every address it resolves to must be public
(never this machine, a private network, link-local, reserved or multicast space) unless the guard allows it
(everything private for titles with ALLIANCE_FETCH_PRIVATE, or named addresses/ports for the client's files with
ALLIANCE_CLIENT_FILE_HOSTS); the request goes to the address checked (no second lookup: DNS rebinding), and a
redirect is followed by hand, each hop checked again, at most MAX_REDIRECTS of them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

MAX_REDIRECTS = 3

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Blocked(Exception):
    """The link points at this machine or a private network, or is not http/https; `str(e)` says which."""


class TooManyRedirects(Exception):
    """More redirects than MAX_REDIRECTS."""


def parse_hosts(entries: Iterable[str]) -> tuple[tuple[Network, int | None], ...]:
    """Read `127.0.0.1`, `127.0.0.1:8080`, `10.0.0.0/8`, `[::1]:8080`, `fd00::/8`: an address or network, with an
    optional port (none: any port).

    Raises:
        ValueError: an entry is neither.
    """
    out = []
    for raw in entries:
        text, port = str(raw).strip(), None
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            if rest:
                if not rest.startswith(":") or not rest[1:].isdigit():
                    raise ValueError(f"{raw!r} 的端口写错了，应如 [::1]:8080")
                port = int(rest[1:])
            text = host
        elif text.count(":") == 1:
            text, _, p = text.partition(":")
            if not p.isdigit():
                raise ValueError(f"{raw!r} 的端口写错了，应如 127.0.0.1:8080")
            port = int(p)
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"{raw!r} 不是 IP 地址或网段，应如 127.0.0.1:8080、10.0.0.0/8") from None
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"{raw!r} 的端口应在 1 到 65535 之间")
        out.append((net, port))
    return tuple(out)


@dataclass(frozen=True)
class Guard:
    """Which addresses may be fetched: public ones always; private ones when `allow_private`, or when listed in
    `allowed` (network, port or None for any port)."""

    allow_private: bool = False
    allowed: tuple[tuple[Network, int | None], ...] = ()

    def permits(self, ip: Address, port: int) -> bool:
        if ip.is_global and not ip.is_multicast:
            return True
        if self.allow_private:
            return True
        return any(ip in net and (p is None or p == port) for net, p in self.allowed)


PUBLIC_ONLY = Guard()


async def pin(url: str, guard: Guard) -> tuple[str, dict[str, str], dict[str, str]]:
    """Resolve the link's host once, check every address, and aim the request at the first one: (the URL with
    the address, the Host header, the TLS name). Connecting to the address checked leaves no second lookup
    that could answer differently (DNS rebinding).

    Raises:
        Blocked: not http/https, or an address the guard does not permit.
        OSError: the name does not resolve.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Blocked("只读取 http/https 链接")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise OSError("no address")
    if not all(guard.permits(ip, port) for ip in addresses):
        raise Blocked("链接指向本机或内网地址，按设置不读取")
    ip = addresses[0]
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    pinned = parts._replace(netloc=f"{host}:{port}").geturl()
    default_port = port == (443 if parts.scheme == "https" else 80)
    headers = {"Host": parts.hostname if default_port else f"{parts.hostname}:{port}"}
    return pinned, headers, {"sni_hostname": parts.hostname}


@asynccontextmanager
async def get(
    client: httpx.AsyncClient,
    url: str,
    guard: Guard,
    *,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
    max_redirects: int = MAX_REDIRECTS,
) -> AsyncIterator[httpx.Response]:
    """GET `url` as a stream, following redirects hop by hop, each hop through the guard; yields the final
    response (any status but a redirect).

    Raises:
        Blocked: a hop points where the guard does not permit.
        TooManyRedirects: more than `max_redirects` hops.
    """
    extra = {} if timeout is None else {"timeout": timeout}
    for _ in range(max_redirects + 1):
        pinned, host, tls = await pin(url, guard)
        async with client.stream(
            "GET", pinned, headers={**(headers or {}), **host}, extensions=tls, follow_redirects=False, **extra
        ) as resp:
            if resp.is_redirect and "location" in resp.headers:
                url = urljoin(url, resp.headers["location"])
                continue
            yield resp
            return
    raise TooManyRedirects(f"跳转超过 {max_redirects} 次")
