"""channels.http.send: which failures leave the outcome unknown (OutcomeUnknown) and
which surely created nothing (a plain PublishError), through a real faulty proxy."""

import socket

import pytest

from channels.base import OutcomeUnknown, PublishError
from channels.http import guarded_client, send

from . import faultproxy as fp
from .helpers import publish_error
from .loopback import FakeService, Reply


class Echo(FakeService):
    def handle(self, request):
        return Reply(201 if request.method == "POST" else 200, {"path": request.path})


@pytest.fixture
def proxy(loopback, fault_proxy, settings):
    settings.OUTBOUND_HTTP_TIMEOUT = 0.5
    return fault_proxy(loopback(Echo()), delay=1.5)


def request(proxy, method, **kwargs) -> PublishError:
    with guarded_client(allow_internal=True) as client:
        return publish_error(send, client, method, f"{proxy.url}/things", **kwargs)


@pytest.mark.parametrize("fault", [fp.DELAY, fp.DROP, fp.RESET])
def test_a_create_that_went_out_and_got_no_answer_is_outcome_unknown(proxy, fault):
    proxy.add(fault, "POST")
    error = request(proxy, "POST", json={"x": 1})
    assert isinstance(error, OutcomeUnknown) and error.permanent is False
    assert proxy.exchanges[0].answered.startswith(b"HTTP/1.1 201")  # the peer did act


@pytest.mark.parametrize("fault", [fp.DELAY, fp.DROP, fp.RESET])
def test_the_same_failure_of_a_read_or_a_declared_non_create_is_plain_transient(proxy, fault):
    proxy.add(fault, times=2)
    for error in (request(proxy, "GET"), request(proxy, "POST", may_create=False)):
        assert type(error) is PublishError and error.permanent is False


@pytest.mark.parametrize("status", [502, 503, 504])
@pytest.mark.parametrize("fault", [fp.GATEWAY_ERROR, fp.GATEWAY_ERROR_AFTER])
def test_a_gateway_error_to_a_create_is_outcome_unknown(proxy, fault, status):
    proxy.add(fault, "POST", status=status)
    error = request(proxy, "POST", json={})
    assert isinstance(error, OutcomeUnknown)
    assert error.status_code == status and str(status) in error.message


def test_a_gateway_error_to_a_read_is_plain_transient(proxy):
    proxy.add(fp.GATEWAY_ERROR, "GET", status=503)
    error = request(proxy, "GET")
    assert type(error) is PublishError and error.permanent is False and error.status_code == 503


def test_nothing_sent_when_the_connection_is_refused(settings):
    settings.OUTBOUND_HTTP_TIMEOUT = 0.5
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with guarded_client(allow_internal=True) as client:
        error = publish_error(send, client, "POST", f"http://127.0.0.1:{port}/things", json={})
    assert type(error) is PublishError and error.permanent is False
    assert "cannot reach" in error.message


def test_a_refusal_is_not_unknown(loopback):
    server = loopback(Echo())
    server.faults.append(Reply(429, {"error": "slow down"}, {"Retry-After": "7"}))
    with guarded_client(allow_internal=True) as client:
        error = publish_error(send, client, "POST", f"{server.url}/things", json={})
    assert type(error) is PublishError and error.retry_after == 7
