"""The SSRF guard: user-given URLs never reach loopback, link-local or private space."""

import socket

import httpx
import pytest

from channels.http import BlockedAddress, guarded_client, send
from channels.netguard import is_public_address

from .loopback import FakeService, Reply


class Hello(FakeService):
    def handle(self, request):
        return Reply(200, {"hello": "world"})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/",
        "http://10.0.0.1/",
        "http://0.0.0.0:{port}/",
    ],
)
def test_guard_refuses_non_public_addresses(loopback, url):
    server = loopback(Hello())
    with guarded_client() as client, pytest.raises(BlockedAddress):
        client.get(url.format(port=server.port))
    assert server.requests == []


def test_guard_refuses_a_name_resolving_to_loopback(loopback):
    server = loopback(Hello())
    with guarded_client() as client, pytest.raises(BlockedAddress) as info:
        client.get(f"http://localhost:{server.port}/")
    assert "127.0.0.1" in str(info.value) or "::1" in str(info.value)
    assert server.requests == []


def test_guard_refuses_a_name_resolving_to_the_metadata_address(monkeypatch):
    real = socket.getaddrinfo

    def fake_dns(host, *args, **kwargs):
        if host == "metadata.attacker.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    with guarded_client() as client, pytest.raises(BlockedAddress) as info:
        client.get("http://metadata.attacker.example/latest/meta-data/")
    assert "169.254.169.254" in str(info.value)


def test_internal_accounts_may_reach_loopback(loopback):
    server = loopback(Hello())
    with guarded_client(allow_internal=True) as client:
        assert client.get(f"{server.url}/x").json() == {"hello": "world"}
    assert server.requests[0].path == "/x"


def test_send_maps_blocked_address_to_a_permanent_publish_error():
    from channels.base import PublishError

    with guarded_client() as client, pytest.raises(PublishError) as info:
        send(client, "GET", "http://169.254.169.254/")
    assert info.value.permanent is True


def test_blocked_address_is_an_httpx_connect_error():
    # Callers that only know httpx still treat it as "could not connect".
    assert issubclass(BlockedAddress, httpx.ConnectError)


# --- IPv6 addresses that carry an IPv4 address ---------------------------------------------
# Teredo keeps its client's IPv4 address inverted in the last 32 bits: 127.0.0.1 is
# 80ff:fffe, 169.254.169.254 is 5601:5601, 10.0.0.1 is f5ff:fffe. 4136:e378 is the
# server 65.54.227.120, a public address.
EMBEDDED_NON_PUBLIC = {
    "mapped loopback": "::ffff:127.0.0.1",
    "mapped metadata": "::ffff:169.254.169.254",
    "mapped private": "::ffff:10.1.2.3",
    "translated loopback": "::ffff:0:7f00:1",
    "compatible loopback": "::127.0.0.1",
    "nat64 loopback": "64:ff9b::127.0.0.1",
    "nat64 metadata": "64:ff9b::a9fe:a9fe",
    "nat64 private": "64:ff9b::192.168.1.10",
    "local-use nat64 private": "64:ff9b:1::a00:1",
    "local-use nat64 public": "64:ff9b:1:0808:0808::",
    "6to4 loopback": "2002:7f00:1::1",
    "6to4 metadata": "2002:a9fe:a9fe::",
    "6to4 private": "2002:c0a8:10a:1::1",
    "teredo loopback client": "2001:0:4136:e378:8000:63bf:80ff:fffe",
    "teredo metadata client": "2001:0:4136:e378:8000:63bf:5601:5601",
    "teredo private client": "2001:0:4136:e378:8000:63bf:f5ff:fffe",
    "teredo private server": "2001:0:a00:1:8000:63bf:f7f7:f7f7",
}
OTHER_NON_PUBLIC = [
    "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.0.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "192.0.0.8", "192.0.2.1", "224.0.0.1", "239.255.255.250", "240.0.0.1",
    "255.255.255.255", "::", "::1", "fe80::1", "fe80::1%lo", "fc00::1", "fd12:3456::1",
    "ff02::1", "2001:db8::1", "100::1", "not an address",
]  # fmt: skip
PUBLIC = [
    "8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450:4001:81c::200e",
    # Embedding forms carrying a public address: delivered there, nowhere else.
    "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1",
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo client 8.8.8.8
]  # fmt: skip


@pytest.mark.parametrize(
    "address", EMBEDDED_NON_PUBLIC.values(), ids=list(EMBEDDED_NON_PUBLIC.keys())
)
def test_ipv6_forms_carrying_a_non_public_ipv4_address_are_refused(address):
    assert is_public_address(address) is False


@pytest.mark.parametrize("address", OTHER_NON_PUBLIC)
def test_other_non_public_addresses_are_refused(address):
    assert is_public_address(address) is False


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert is_public_address(address) is True


@pytest.mark.parametrize(
    "address",
    [
        EMBEDDED_NON_PUBLIC["nat64 metadata"],
        EMBEDDED_NON_PUBLIC["6to4 loopback"],
        EMBEDDED_NON_PUBLIC["teredo loopback client"],
        EMBEDDED_NON_PUBLIC["mapped loopback"],
    ],
    ids=["nat64", "6to4", "teredo", "mapped"],
)
def test_guard_refuses_a_name_resolving_to_an_embedding_address(monkeypatch, address):
    """The resolver is where a hostile name gets its address (socket.getaddrinfo, as
    channels.netguard documents): no connection is even tried."""
    real = socket.getaddrinfo
    dialled = []

    def fake_dns(host, *args, **kwargs):
        if host == "blog.attacker.example":
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, 80, 0, 0))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: dialled.append(a))
    with guarded_client() as client, pytest.raises(BlockedAddress) as info:
        client.get("http://blog.attacker.example/wp-json/")
    assert address in str(info.value) and dialled == []


def test_every_address_of_a_name_is_checked(monkeypatch):
    """One public address among the answers does not let a private one through."""

    def fake_dns(host, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 80)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::a00:1", 80, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    with guarded_client() as client, pytest.raises(BlockedAddress):
        client.get("http://mixed.attacker.example/")
