"""The SSRF guard: which addresses a user-given host may reach, checked on the address
actually dialled. channels.http (every outbound HTTP request) and channels.email.smtp
(every SMTP connection) connect only through `checked_addresses`.

A host name is resolved once (`socket.getaddrinfo`, the one place tests patch to play a
hostile DNS), every address it resolves to is checked, and the socket then connects to
a checked address, never to the name: so a DNS answer that changes between the check
and the connection (rebinding) cannot reach an address the check refused.

Refused unless the account is marked internal: loopback, private, link-local (cloud
metadata at 169.254.169.254), unspecified, multicast, reserved, documentation and
carrier-grade NAT space, and IPv6 addresses that carry such an IPv4 address inside
them: IPv4-mapped (::ffff:0:0/96) and IPv4-translated (::ffff:0:0:0/96), NAT64
(64:ff9b::/96), 6to4 (2002::/16) and Teredo (2001::/32, the client address
obfuscated). These are judged by the IPv4 address they carry, since a NAT64 gateway or a
6to4 or Teredo relay delivers the packet there. The deprecated IPv4-compatible form
(::/96) and local-use NAT64 (64:ff9b:1::/48, whose IPv4 part sits where the operator
chose) are refused outright.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Written out rather than left to `is_global`, whose answers differ between Python
# releases (3.11 calls 192.0.0.8 and ::127.0.0.1 global).
NON_PUBLIC_V4 = tuple(
    _V4(n)
    for n in (
        "0.0.0.0/8",  # "this network", 0.0.0.0 included
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",
        "192.88.99.0/24",  # the deprecated 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
NON_PUBLIC_V6 = tuple(
    _V6(n)
    for n in (
        "::/96",  # unspecified, loopback and the deprecated IPv4-compatible form
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments (Teredo is judged before this)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 segment identifiers
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
NAT64 = _V6("64:ff9b::/96")
IPV4_TRANSLATED = _V6("::ffff:0:0:0/96")


class AddressNotAllowed(OSError):
    """The host resolves to an address the guard does not allow. An OSError, like every
    other way a connection cannot be made, so socket callers need no new except."""


def embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses an IPv6 address delivers to, for the forms that carry one;
    None for an ordinary IPv6 address."""
    if addr.ipv4_mapped is not None:
        return [addr.ipv4_mapped]
    if addr in NAT64 or addr in IPV4_TRANSLATED:
        return [ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)]
    if addr.sixtofour is not None:
        return [addr.sixtofour]
    if addr.teredo is not None:
        server, client = addr.teredo  # the client address already de-obfuscated
        return [server, client]
    return None


def _public_v4(addr: ipaddress.IPv4Address) -> bool:
    return addr.is_global and not any(addr in net for net in NON_PUBLIC_V4)


def is_public_address(ip: str) -> bool:
    """Whether `ip` (an address as getaddrinfo gives it, scope id allowed) is public."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv4Address):
        return _public_v4(addr)
    carried = embedded_ipv4(addr)
    if carried is not None:
        return all(_public_v4(v4) for v4 in carried)
    return addr.is_global and not any(addr in net for net in NON_PUBLIC_V6)


def _getaddrinfo(host: str, port: int, timeout: float | None) -> list:
    """socket.getaddrinfo, given up after `timeout` seconds (getaddrinfo has no timeout
    of its own; the lookup thread is left to finish in the background)."""
    if timeout is None:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    outcome: dict = {}

    def lookup():
        try:
            outcome["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    thread.start()
    thread.join(max(timeout, 0.0))
    if thread.is_alive():
        raise TimeoutError(f"resolving {host} took longer than {timeout:.1f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["infos"]


def checked_addresses(
    host: str, port: int, allow_internal: bool, timeout: float | None = None
) -> list[str]:
    """Resolve `host` (within `timeout` seconds) and return its addresses, each checked.
    Raises AddressNotAllowed if any of them is not public (unless `allow_internal`),
    socket.gaierror if the name does not resolve, TimeoutError if it takes too long."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        infos = _getaddrinfo(host, port, timeout)
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
    else:
        addresses = [str(literal)]
    if not allow_internal:
        blocked = [a for a in addresses if not is_public_address(a)]
        if blocked:
            raise AddressNotAllowed(
                f"refused to connect to {host} ({', '.join(blocked)}): not a public address"
            )
    return addresses


def connect_checked(
    host: str,
    port: int,
    *,
    allow_internal: bool,
    timeout: float | None,
    source_address: tuple[str, int] | None = None,
) -> socket.socket:
    """A TCP socket to `host`:`port` through the guard, for protocols other than HTTP
    (SMTP): the connection goes to a checked address; TLS on top of it still names
    `host` (SNI, certificate check). `timeout` bounds the lookup and the connecting
    together, and stays the socket's timeout. Raises OSError (AddressNotAllowed
    included) when no connection can be made."""
    deadline = None if timeout is None else time.monotonic() + timeout
    addresses = checked_addresses(host, port, allow_internal, timeout)
    last_error: OSError | None = None
    for address in addresses:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise TimeoutError(f"connecting to {host} took longer than {timeout:.1f} s")
        try:
            sock = socket.create_connection((address, port), remaining, source_address)
        except OSError as exc:  # try the next address
            last_error = exc
            continue
        sock.settimeout(timeout)
        return sock
    raise last_error or OSError(f"cannot connect to {host}")
