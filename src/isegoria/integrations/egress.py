"""Outgoing requests to URLs others chose: no loopback, private or metadata addresses (SSRF).

A platform sets its own webhook URL and a remote ActivityPub server names the documents we
fetch, so a request this server makes on their behalf must not reach what only this
server can reach: its loopback, the intranet behind it, the cloud metadata service at
169.254.169.254 (OWASP ASVS 5.2.6). The check is made on the address a host name resolves to,
at the moment of the request, and the connection goes to that very address: resolving a
second time would let a name that answered with a public address a moment ago answer with
127.0.0.1 now (DNS rebinding). The URL keeps its host name for the ``Host`` header and the
TLS server name, so virtual hosting and certificate checks work as before.

An operator whose platform lives on the intranet sets ``ISEGORIA_WEBHOOK_ALLOW_PRIVATE=true``.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

__all__ = [
    "EgressRefused",
    "GuardedTransport",
    "check_base_url",
    "embedded_ipv4",
    "forbidden_reason",
    "guarded_client",
    "literal_host_reason",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: host, port -> the addresses to try, in order.
Resolver = Callable[[str, int], Sequence[str]]

#: Default ports of the two schemes an outgoing URL may have.
DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class EgressRefused(httpx.TransportError):
    """The request would reach an address this server must not reach for others."""


# IPv6 prefixes whose traffic a translator carries to the IPv4 address in the last 32 bits:
# NAT64's well-known prefix (RFC 6052 §2.1) and the local-use one (RFC 8215, where operators
# put a /96 as well).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# The deprecated IPv4-compatible form ::a.b.c.d (RFC 4291 §2.5.5.1).
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_LOW_32_BITS = 0xFFFFFFFF


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, each with the name of its form."""
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.ipv4_mapped is not None:
        found.append(("IPv4-mapped", ip.ipv4_mapped))
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        found += [("Teredo", client), ("Teredo", server)]
    low = ipaddress.IPv4Address(int(ip) & _LOW_32_BITS)
    if any(ip in network for network in _NAT64):
        found.append(("NAT64", low))
    elif ip in _IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are themselves, not IPv4
        found.append(("IPv4-compatible", low))
    return found


def forbidden_reason(address: str | IPAddress) -> str | None:
    """Why ``address`` may not be the target of a request made for someone else, or None."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = embedded_ipv4(ip)
        for form, inner in embedded:
            # ::ffff:127.0.0.1 is 127.0.0.1 to the kernel, 64:ff9b::7f00:1 to a NAT64
            # translator, 2002:7f00:1:: to a 6to4 relay: judge the IPv4 address inside.
            reason = forbidden_reason(inner)
            if reason is not None:
                return f"{reason} (as the {form} {ip})"
        if embedded and embedded[0][0] in ("IPv4-mapped", "NAT64"):
            return None  # the packet goes to that IPv4 address, which passed
    # Named cases first, so the operator reads what kind of address it was; the order
    # matters where ranges nest (127/8 is also "private" to the ipaddress module).
    checks = (
        (ip.is_unspecified, "unspecified", ""),
        (ip.is_loopback, "loopback", ""),
        (ip.is_link_local, "link-local", " (where cloud metadata services answer)"),
        (ip.is_multicast, "multicast", ""),
        (ip.is_reserved, "reserved", ""),
        (ip.is_private, "private", ""),
        # Whatever else is not globally routable: 100.64.0.0/10 (carrier-grade NAT, RFC
        # 6598) is neither private nor reserved to the module but leads into a provider's
        # network all the same.
        (not ip.is_global, "not globally routable", ""),
    )
    for forbidden, kind, note in checks:
        if forbidden:
            return f"{ip} is a {kind} address{note}"
    return None


def literal_host_reason(url: str) -> str | None:
    """Why ``url`` names a forbidden IP address literally, or None (names are judged later)."""
    host = urlsplit(url).hostname or ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: what it resolves to is checked when a request is made
    return forbidden_reason(ip)


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host``, in its order, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_base_url(
    url: str, *, allow_private: bool = False, resolver: Resolver = system_resolver
) -> None:
    """Refuse ``url`` if its host is, or resolves to, an address only this server can reach.

    For a client whose connections this module cannot pin (Mastodon.py uses requests): the
    check is made on each use, but a name could still change its answer between this check
    and the client's own resolution (DNS rebinding), which GuardedTransport rules out.
    """
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 443)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = list(resolver(host, port))
        except OSError as exc:
            raise EgressRefused(f"cannot resolve {host}: {exc}") from exc
    for address in addresses:
        reason = forbidden_reason(address)
        if reason is not None:
            raise EgressRefused(
                f"refused to connect to {host}: {reason}; a connector's server must have a "
                "public address (an operator can allow private ones with "
                "ISEGORIA_WEBHOOK_ALLOW_PRIVATE=true)"
            )


class GuardedTransport(httpx.HTTPTransport):
    """An HTTP transport that resolves once, checks every address, and connects to it."""

    def __init__(
        self, *, allow_private: bool = False, resolver: Resolver = system_resolver, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.allow_private = allow_private
        self.resolver = resolver

    def _addresses(self, request: httpx.Request, host: str) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        port = request.url.port or DEFAULT_PORTS.get(request.url.scheme, 443)
        try:
            addresses = list(self.resolver(host, port))
        except OSError as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc}", request=request) from exc
        if not addresses:
            raise httpx.ConnectError(f"{host} resolves to no address", request=request)
        return addresses

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to a checked address of its host (trying each in turn)."""
        # The ASCII (IDNA) form: what DNS and the certificate's subject names hold.
        host = request.url.raw_host.decode("ascii")
        addresses = self._addresses(request, host)
        if not self.allow_private:
            # Every address must pass: a name with one public and one private address could
            # otherwise be steered to the private one by failing the first connection.
            for address in addresses:
                reason = forbidden_reason(address)
                if reason is not None:
                    raise EgressRefused(
                        f"refused to connect to {host}: {reason}; requests made for "
                        "platforms and remote servers may only reach public addresses "
                        "(an operator can allow private ones with "
                        "ISEGORIA_WEBHOOK_ALLOW_PRIVATE=true)",
                        request=request,
                    )
        if request.url.scheme == "https":
            # Certificate and SNI still name the host, though we connect to an address.
            request.extensions = {**request.extensions, "sni_hostname": host}
        # The Host header was set from the URL when the request was built, so pointing the
        # URL at the address keeps virtual hosting intact.
        original = request.url
        last_error: httpx.ConnectError | None = None
        for address in addresses:
            request.url = original.copy_with(host=address)
            try:
                return super().handle_request(request)
            except httpx.ConnectError as exc:
                last_error = exc
            finally:
                request.url = original
        assert last_error is not None  # noqa: S101 - addresses is never empty
        raise last_error


def guarded_client(
    *,
    allow_private: bool = False,
    resolver: Resolver = system_resolver,
    verify: ssl.SSLContext | bool = True,
    **kwargs: Any,
) -> httpx.Client:
    """An httpx client for URLs others chose: guarded addresses, redirects not followed."""
    # A redirect would be a second, unchecked request to wherever the receiver points us.
    kwargs["follow_redirects"] = False
    # TLS settings belong to the transport: httpx ignores a client's own when given one.
    transport = GuardedTransport(allow_private=allow_private, resolver=resolver, verify=verify)
    return httpx.Client(transport=transport, **kwargs)
