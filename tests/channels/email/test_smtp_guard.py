"""SMTP hosts pass the SSRF guard (channels.netguard) unless the account is internal,
and what a marketer is told when no connection can be made says nothing about which
ports are open: one message for a refused address, a closed port, a silent one and a
port that speaks something else. Against real servers on loopback."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from channels.email import sender
from channels.email import services as email_services
from channels.email.models import EmailSend
from channels.services import test_channel_account as try_connection
from tests.factories import ChannelAccountFactory

from .conftest import RecordingHandler, make_subscribers

pytestmark = pytest.mark.django_db

GENERIC = "Could not connect to the mail server."


def smtp_account(port, *, host="127.0.0.1", internal=False, security="none", **settings):
    return ChannelAccountFactory(
        kind="email/smtp",
        is_internal=internal,
        settings={
            "host": host,
            "port": port,
            "security": security,
            "from_email": "news@hub.example.com",
            "postal_address": "1 Example Street, Springfield",
            "timeout": 1,
            **settings,
        },
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Listener:
    """A TCP port on loopback that counts connections and then, as `behaviour` says,
    closes at once ("close": not a mail server) or says nothing ("silent")."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.accepted = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.behaviour == "close":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                conn.close()
            else:
                self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def listener():
    made = []

    def make(behaviour):
        made.append(Listener(behaviour))
        return made[-1]

    yield make
    for each in made:
        each.close()


def test_test_connection_refuses_a_loopback_smtp_host_for_a_non_internal_account(smtp_server):
    controller, handler = smtp_server
    account = smtp_account(controller.port)
    ok, message = try_connection(account)
    assert ok is False and GENERIC in message
    # The same server is there and speaks SMTP: only the guard stopped us.
    account.is_internal = True
    account.save()
    assert try_connection(account) == (
        True,
        "Connection works: credentials and settings accepted.",
    )


def test_the_guard_refusal_is_made_before_any_connection(listener):
    port = listener("close")
    ok, message = try_connection(smtp_account(port.port))
    assert ok is False and GENERIC in message
    assert port.accepted == 0


def test_no_message_tells_an_open_port_from_a_closed_one(listener, smtp_server):
    """Every way a connection can fail before the login reads the same, for internal
    accounts and others: a marketer cannot map ports with Test connection."""
    closed = free_port()
    not_smtp = listener("close")
    silent = listener("silent")
    controller, _handler = smtp_server
    messages = {
        "guard refuses an open SMTP port": try_connection(smtp_account(controller.port)),
        "guard refuses a closed port": try_connection(smtp_account(closed)),
        "closed port": try_connection(smtp_account(closed, internal=True)),
        "not a mail server": try_connection(smtp_account(not_smtp.port, internal=True)),
        "silent port": try_connection(smtp_account(silent.port, internal=True)),
        "TLS to a plain server": try_connection(
            smtp_account(controller.port, internal=True, security="ssl")
        ),
    }
    assert {ok for ok, _message in messages.values()} == {False}
    assert len({message for _ok, message in messages.values()}) == 1, messages
    (message,) = {message for _ok, message in messages.values()}
    assert GENERIC in message
    for word in ("refused", "Errno", "timed out", str(closed), "127.0.0.1", "public address"):
        assert word not in message


def test_the_admin_button_shows_the_same_words(client, marketer, smtp_server):
    controller, _handler = smtp_server
    account = smtp_account(controller.port)
    client.force_login(marketer)
    page = client.post(f"/admin/channels/{account.pk}/test/", follow=True).content.decode()
    assert "Connection failed" in page and GENERIC in page
    assert "127.0.0.1" not in page.split("Connection failed", 1)[1][:400]


@pytest.mark.parametrize(
    "address", ["::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1", "127.0.0.1"]
)
def test_a_mail_host_name_resolving_to_loopback_is_refused(monkeypatch, listener, address):
    port = listener("close")
    real = socket.getaddrinfo

    def fake_dns(host, *args, **kwargs):
        if host == "mail.attacker.example":
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port.port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    ok, message = try_connection(smtp_account(port.port, host="mail.attacker.example"))
    assert ok is False and GENERIC in message and port.accepted == 0


def test_a_send_to_a_loopback_host_of_a_non_internal_account_sends_nothing(
    email_publication, mailing_list, smtp_server, no_celery
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, 3)
    account = email_publication.channel_account
    account.is_internal = False
    account.save()
    adapter = account.get_adapter()
    adapter.publish(email_publication, adapter.render(email_publication))
    send = EmailSend.objects.get(publication=email_publication)
    with pytest.raises(email_services.TransientSendError) as info:
        email_services.send_next_batch(send.pk)
    assert GENERIC in str(info.value)
    assert handler.messages == []


# --- TLS still names the host ------------------------------------------------------------


def _certificate(name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert_pem, key_pem


@pytest.fixture
def tls_smtp_server(tmp_path):
    """An SMTP server speaking TLS from the start, with a certificate for
    mail.hub.test only; yields (port, handler, the certificate's PEM)."""
    cert_pem, key_pem = _certificate("mail.hub.test")
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, ssl_context=context, decode_data=False
    )
    controller.start()
    try:
        yield port, handler, cert_pem
    finally:
        controller.stop()


def test_tls_verifies_the_host_name_while_connecting_to_the_checked_address(
    tls_smtp_server, monkeypatch
):
    """The socket goes to the address the guard checked, and TLS still sends and checks
    the name the account gave (SNI, certificate): a certificate for that name passes,
    the same server under another name does not."""
    port, _handler, cert_pem = tls_smtp_server
    real_dns = socket.getaddrinfo
    asked = []

    def fake_dns(host, *args, **kwargs):
        if host.endswith(".hub.test"):
            asked.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real_dns(host, *args, **kwargs)

    real_context = ssl.create_default_context

    def trusting_our_certificate(*args, **kwargs):
        context = real_context()
        context.load_verify_locations(cadata=cert_pem.decode())
        return context

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    monkeypatch.setattr(sender.ssl, "create_default_context", trusting_our_certificate)
    right = smtp_account(port, host="mail.hub.test", internal=True, security="ssl")
    assert try_connection(right)[0] is True
    wrong = smtp_account(port, host="other.hub.test", internal=True, security="ssl")
    ok, message = try_connection(wrong)
    assert ok is False and GENERIC in message
    assert asked == ["mail.hub.test", "other.hub.test"]
