"""The SSRF guard: user-given URLs never reach loopback, link-local or private space."""

import socket

import httpx
import pytest

from channels.http import BlockedAddress, guarded_client, send

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
