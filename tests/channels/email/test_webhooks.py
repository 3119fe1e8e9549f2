"""The bounce and complaint webhooks under attack (issue 18): SNS messages from a topic
that is not the account's, Mailgun replays answered by another process, and bodies
built to break a parser. Every refusal is a short 4xx (503 when Amazon cannot be
reached), never a 500, and nothing is suppressed.

Signatures are real: a throwaway key signs the SNS messages and a loopback HTTP server
serves its certificate (and records SubscribeURL visits) in Amazon's place, reached
through channels.http like the real one."""

import base64
import datetime
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from django.test import Client, override_settings

from campaigns.audiences.models import Suppression
from channels import http as guarded_http
from channels.email import bounces
from tests.channels.loopback import Drop, FakeService, LoopbackServer, Reply
from tests.factories import ChannelAccountFactory

pytestmark = pytest.mark.django_db

SNS = "https://sns.eu-west-1.amazonaws.com"
OUR_TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-feedback"
FOREIGN_TOPIC = "arn:aws:sns:eu-west-1:999999999999:attacker"
CORPORA = Path(__file__).resolve().parents[3].parent / "shared" / "corpora"


# The fields each message type signs, in order (Amazon SNS developer guide, "Verifying
# the signatures of Amazon SNS messages").
SIGNED_FIELDS = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": [
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ],
}


class FakeSns(FakeService):
    """Amazon SNS's two GET endpoints a subscriber meets: the signing certificate and
    the SubscribeURL (Action=ConfirmSubscription). `drop`: close every connection
    without an answer."""

    def __init__(self, pem: bytes, cert_path: str):
        super().__init__()
        self.pem = pem
        self.cert_path = cert_path
        self.drop = False

    def handle(self, request):
        if self.drop:
            raise Drop()
        if request.path == self.cert_path:
            return Reply(200, self.pem, {"Content-Type": "application/x-pem-file"})
        if request.query.get("Action") == "ConfirmSubscription":
            return Reply(200, "<ConfirmSubscriptionResponse/>", {"Content-Type": "text/xml"})
        return Reply(404, "not found")


@dataclass
class SnsKey:
    """A signing key and where its certificate is published: a path of its own, so no
    certificate cached by an earlier test (or process) stands in for it."""

    private: rsa.RSAPrivateKey
    cert_path: str


@pytest.fixture
def sns_key():
    return SnsKey(
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        f"/SimpleNotificationService-{uuid.uuid4().hex}.pem",
    )


@pytest.fixture
def sns(sns_key, monkeypatch):
    """The loopback SNS. Amazon's host name is routed to it the way DNS would route it:
    the URL keeps its path and query, and the request goes through channels.http."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(sns_key.private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(sns_key.private, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    with LoopbackServer(FakeSns(pem, sns_key.cert_path)) as server:
        real_fetch = guarded_http.fetch_bytes

        def via_loopback(url, allow_internal=False, max_bytes=None):
            assert url.startswith(SNS + "/"), url  # nothing else is ever fetched
            return real_fetch(
                server.url + url[len(SNS) :], allow_internal=True, max_bytes=max_bytes
            )

        monkeypatch.setattr(bounces, "fetch_bytes", via_loopback)
        yield server


def signed(key, msg_type="Notification", topic=OUR_TOPIC, message=None, **fields) -> dict:
    """An SNS message as Amazon sends it, signed (SignatureVersion 2) with `key`."""
    payload = {
        "Type": msg_type,
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": topic,
        "Message": message if isinstance(message, str) else json.dumps(message or {}),
        "Timestamp": "2026-12-06T08:00:00.000Z",
        "SignatureVersion": "2",
        "SigningCertURL": SNS + key.cert_path,
    }
    if msg_type != "Notification":
        payload["Token"] = (
            "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a7"
        )
        payload["SubscribeURL"] = (
            f"{SNS}/?Action=ConfirmSubscription&TopicArn={topic}&Token={payload['Token']}"
        )
    payload.update(fields)
    lines = []
    for name in SIGNED_FIELDS[msg_type]:
        if name in payload:
            lines += [name, str(payload[name])]
    data = ("\n".join(lines) + "\n").encode()
    payload["Signature"] = base64.b64encode(
        key.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    return payload


COMPLAINT = {
    "notificationType": "Complaint",
    "complaint": {
        "complainedRecipients": [{"emailAddress": "victim@example.org"}],
        "complaintFeedbackType": "abuse",
    },
    "mail": {"commonHeaders": {"messageId": "<x@y>"}},
}


def ses_account(**settings):
    return ChannelAccountFactory(kind="email/smtp", settings=settings, secrets={})


def post(account, body, hook="ses"):
    if not isinstance(body, str | bytes):
        body = json.dumps(body)
    return Client().post(
        f"/hooks/email/{account.pk}/{hook}/", body, content_type="text/plain; charset=utf-8"
    )


# --- The topic ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "stored",
    [
        {"feedback_webhook": "ses", "sns_topic_arn": OUR_TOPIC},
        {"sns_topic_arn": OUR_TOPIC},  # saved before the webhook choice existed
        {},  # no topic configured: the SES hook takes nothing
    ],
    ids=["ses-account", "older-account-with-arn", "no-arn"],
)
def test_a_genuinely_signed_complaint_from_a_foreign_topic_is_refused(sns, sns_key, stored):
    account = ses_account(**stored)
    r = post(account, signed(sns_key, topic=FOREIGN_TOPIC, message=COMPLAINT))
    assert r.status_code == 403, r.content
    assert b"topic" in r.content.lower()
    assert not Suppression.objects.exists()
    # Refused on the topic alone: Amazon's certificate was not even fetched for it.
    assert sns.requests == []


def test_a_complaint_from_the_accounts_topic_is_applied(sns, sns_key):
    account = ses_account(feedback_webhook="ses", sns_topic_arn=OUR_TOPIC)
    r = post(account, signed(sns_key, message=COMPLAINT))
    assert r.status_code == 200, r.content
    assert Suppression.objects.get(email="victim@example.org").reason == "complaint"
    assert [req.path for req in sns.requests] == [sns_key.cert_path]


def test_a_subscription_from_a_foreign_topic_is_not_confirmed(sns, sns_key):
    for stored in ({}, {"feedback_webhook": "ses", "sns_topic_arn": OUR_TOPIC}):
        account = ses_account(**stored)
        r = post(account, signed(sns_key, "SubscriptionConfirmation", topic=FOREIGN_TOPIC))
        assert r.status_code == 403, r.content
    assert not [req for req in sns.requests if req.query.get("Action")]


def test_the_accounts_own_subscription_is_confirmed(sns, sns_key):
    account = ses_account(feedback_webhook="ses", sns_topic_arn=OUR_TOPIC)
    r = post(account, signed(sns_key, "SubscriptionConfirmation"))
    assert r.status_code == 200, r.content
    (confirm,) = [req for req in sns.requests if req.query.get("Action")]
    assert confirm.query["TopicArn"] == OUR_TOPIC


@pytest.mark.parametrize(
    "subscribe_url",
    [
        "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=x",  # region
        "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=x",  # not TLS
        "https://evil.example.com/?Action=ConfirmSubscription&Token=x",
    ],
)
def test_a_subscribe_url_off_the_topics_sns_endpoint_is_not_visited(sns, sns_key, subscribe_url):
    account = ses_account(feedback_webhook="ses", sns_topic_arn=OUR_TOPIC)
    r = post(account, signed(sns_key, "SubscriptionConfirmation", SubscribeURL=subscribe_url))
    assert r.status_code == 400, r.content
    assert not [req for req in sns.requests if req.query.get("Action")]


def test_an_account_using_mailgun_takes_no_ses_message(sns, sns_key):
    account = ses_account(feedback_webhook="mailgun", sns_topic_arn=OUR_TOPIC)
    r = post(account, signed(sns_key, message=COMPLAINT))
    assert r.status_code == 403 and not Suppression.objects.exists()


# --- Amazon unreachable ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (Reply(500, "internal error"), 503),
        (Reply(503, "slow down"), 503),
        (Drop(), 503),  # the connection closes with no answer
        (Reply(404, "no such certificate"), 400),
        (Reply(200, b"not a certificate"), 400),
    ],
    ids=["500", "503", "dropped", "404", "garbage"],
)
def test_a_failing_certificate_fetch_is_answered_without_a_500(sns, sns_key, fault, status):
    """A fault Amazon may recover from gets 503, so SNS delivers the message again (it
    retries 5xx, not 4xx); an answer that will not change is a 400."""
    account = ses_account(feedback_webhook="ses", sns_topic_arn=OUR_TOPIC)
    if isinstance(fault, Drop):
        sns.service.drop = True
    else:
        sns.faults.append(fault)
    r = post(account, signed(sns_key, message=COMPLAINT))
    assert r.status_code == status, r.content
    assert 0 < len(r.content) < 200
    assert not Suppression.objects.exists()


# --- Mailgun replays ---------------------------------------------------------------------
def mailgun_body(event_data, key="mg-key", token="a" * 50, timestamp=None):
    timestamp = str(int(timestamp or time.time()))
    sig = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": timestamp, "token": token, "signature": sig},
            "event-data": event_data,
        }
    )


def mailgun_account(**settings):
    return ChannelAccountFactory(
        kind="email/smtp", settings=settings, secrets={"mailgun_signing_key": "mg-key"}
    )


def test_a_mailgun_replay_answered_by_another_process_is_refused():
    """Each web process has its own local-memory cache unless REDIS_URL is set; the
    second request comes to a process whose cache never saw the first."""
    account = mailgun_account(feedback_webhook="mailgun")
    body = mailgun_body({"event": "failed", "severity": "permanent", "recipient": "a@example.org"})
    process = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    with override_settings(CACHES={"default": {**process, "LOCATION": "process-1"}}):
        assert post(account, body, "mailgun").status_code == 200
    Suppression.objects.all().delete()
    with override_settings(CACHES={"default": {**process, "LOCATION": "process-2"}}):
        r = post(account, body, "mailgun")
    assert r.status_code == 406 and b"replayed" in r.content
    assert not Suppression.objects.exists()


def test_a_fresh_mailgun_token_is_accepted_and_an_account_without_key_refuses():
    account = mailgun_account()
    event = {"event": "complained", "recipient": "c@example.org"}
    assert post(account, mailgun_body(event, token="b" * 50), "mailgun").status_code == 200
    assert post(account, mailgun_body(event, token="c" * 50), "mailgun").status_code == 200
    keyless = ChannelAccountFactory(kind="email/smtp", settings={}, secrets={})
    r = post(keyless, mailgun_body(event, token="d" * 50), "mailgun")
    assert r.status_code == 406 and b"signing key" in r.content


# --- Malformed bodies --------------------------------------------------------------------
NESTED = "[" * 100_000 + "]" * 100_000


def test_deeply_nested_json_is_answered_400(sns, sns_key):
    account = ses_account(feedback_webhook="ses", sns_topic_arn=OUR_TOPIC)
    assert post(account, NESTED).status_code == 400
    assert post(account, '{"Type": ' + NESTED + "}").status_code == 400
    # Inside a genuinely signed message too.
    r = post(account, signed(sns_key, message='{"mail": ' + "[" * 5000 + "]" * 5000 + "}"))
    assert r.status_code == 400 and b"nested" in r.content
    mailgun = mailgun_account()
    assert post(mailgun, NESTED, "mailgun").status_code == 406
    assert not Suppression.objects.exists()


def _wrong(**changes):
    def build(key):
        payload = signed(key, message=COMPLAINT)
        payload.update(changes)
        return payload

    return build


def _without(name):
    def build(key):
        payload = signed(key, message=COMPLAINT)
        del payload[name]
        return payload

    return build


def _signed_message(message):
    return lambda key: signed(key, message=message)


# name: (body, the answer). A signed message whose fields have the wrong shapes carries
# no feedback: accepted (SNS must not retry it) and nothing applied.
MALFORMED_SES = {
    "invalid-utf8": (lambda key: b'{"Type": "Notification\xff\xfe"}', 400),
    "lone-surrogate": (lambda key: '{"Type": "\\ud800", "TopicArn": "' + OUR_TOPIC + '"}', 400),
    "array": (lambda key: "[1, 2, 3]", 400),
    "empty": (lambda key: "", 400),
    "type-list": (_wrong(Type=["Notification"]), 400),
    "type-object": (_wrong(Type={"a": 1}), 400),
    "topic-list": (_wrong(TopicArn=[OUR_TOPIC]), 403),
    "cert-url-number": (_wrong(SigningCertURL=5), 400),
    "cert-url-list": (_wrong(SigningCertURL=[SNS + "/cert.pem"]), 400),
    "signature-number": (_wrong(Signature=12345), 400),
    "signature-not-base64": (_wrong(Signature="%%%"), 400),
    "version-number": (_wrong(SignatureVersion=2), 400),
    "message-object": (_wrong(Message={"notificationType": "Complaint"}), 400),
    "message-surrogate": (_wrong(Message="\ud800"), 400),
    "no-signature": (_without("Signature"), 400),
    "no-message": (_without("Message"), 400),
    "no-type": (_without("Type"), 400),
    "no-cert-url": (_without("SigningCertURL"), 400),
    "signed-message-not-json": (_signed_message("not json"), 400),
    "signed-message-list": (_signed_message("[]"), 400),
    "signed-wrong-shapes": (
        _signed_message(
            {
                "notificationType": "Complaint",
                "complaint": {"complainedRecipients": "victim@example.org"},
                "mail": "headers",
            }
        ),
        200,
    ),
    "signed-wrong-shapes-2": (
        _signed_message(
            {
                "notificationType": ["Bounce"],
                "bounce": [],
                "mail": {"headers": [1, "x", {"name": 5}]},
            }
        ),
        200,
    ),
}


@pytest.mark.parametrize("name", list(MALFORMED_SES))
def test_a_malformed_ses_body_is_a_short_4xx_never_a_500(sns, sns_key, name):
    account = ses_account(feedback_webhook="ses", sns_topic_arn=OUR_TOPIC)
    build, expected = MALFORMED_SES[name]
    r = post(account, build(sns_key))
    assert r.status_code == expected, r.content
    assert len(r.content) < 200
    assert not Suppression.objects.exists()


MALFORMED_MAILGUN = {
    "invalid-utf8": b'{"signature": "\xff"}',
    "array": "[]",
    "signature-list": json.dumps({"signature": ["a"]}),
    "signature-string": json.dumps({"signature": "abc"}),
    "timestamp-object": json.dumps(
        {"signature": {"timestamp": {}, "token": "t", "signature": "0" * 64}}
    ),
    "timestamp-superscript": json.dumps(
        {"signature": {"timestamp": "\u00b2", "token": "t", "signature": "0" * 64}}
    ),
    "token-surrogate": '{"signature": {"timestamp": "1", "token": "\\ud800", "signature": "0"}}',
    "no-signature": json.dumps({"event-data": {"event": "failed"}}),
}


@pytest.mark.parametrize("name", list(MALFORMED_MAILGUN))
def test_a_malformed_mailgun_body_is_refused_never_a_500(name):
    r = post(mailgun_account(), MALFORMED_MAILGUN[name], "mailgun")
    assert r.status_code == 406, r.content
    assert len(r.content) < 200


def test_a_signed_mailgun_event_of_the_wrong_shape_applies_nothing():
    account = mailgun_account()
    for n, event_data in enumerate(
        [[], "failed", {"event": ["failed"], "recipient": {}}, {"event": "failed", "recipient": 5}]
    ):
        r = post(account, mailgun_body(event_data, token=f"shape-{n}"), "mailgun")
        assert r.status_code == 200, r.content
    assert not Suppression.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=None)
def test_an_oversized_body_is_refused_before_it_is_parsed():
    account = ses_account(feedback_webhook="ses", sns_topic_arn=OUR_TOPIC)
    big = json.dumps({"Type": "Notification", "Message": "x" * 300_000})
    r = post(account, big)
    assert r.status_code == 400 and r.content == b"body too large"
    assert post(mailgun_account(), big, "mailgun").status_code == 406


# --- Hostile strings ---------------------------------------------------------------------
def naughty_strings() -> list[str]:
    path = CORPORA / "naughty-strings" / "blns.json"
    assert path.exists(), f"the naughty-strings corpus is missing: expected {path}"
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_naughty_strings_never_break_the_webhooks(sns, sns_key):
    """Each string of the Big List of Naughty Strings as a whole body, as each field of
    an SNS message (our topic kept, so the checks past the topic run), inside a
    genuinely signed SES notification, and in a Mailgun body."""
    ses = ses_account(feedback_webhook="ses", sns_topic_arn=OUR_TOPIC)
    mailgun = mailgun_account()
    fields = ["Type", "SigningCertURL", "Signature", "SignatureVersion", "Message", "TopicArn"]
    statuses = set()
    for n, text in enumerate(naughty_strings()):
        statuses.add(post(ses, text).status_code)
        payload = signed(sns_key, message=COMPLAINT)
        payload[fields[n % len(fields)]] = text
        statuses.add(post(ses, payload).status_code)
        notification = {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": text,
                "bouncedRecipients": [{"emailAddress": text, "diagnosticCode": text}],
            },
            "mail": {"headers": [{"name": "Message-ID", "value": text}]},
        }
        statuses.add(post(ses, signed(sns_key, message=notification)).status_code)
        signature = {"timestamp": text, "token": text, "signature": text}
        statuses.add(post(mailgun, json.dumps({"signature": signature}), "mailgun").status_code)
        event = {"event": "unsubscribed", "recipient": text, "message": {"headers": text}}
        body = mailgun_body(event, token=f"naughty-{n}")
        statuses.add(post(mailgun, body, "mailgun").status_code)
    assert statuses <= {200, 400, 403, 406}, statuses


def test_a_cache_outage_does_not_stop_the_ses_webhook(sns, sns_key):
    """The certificate cache only saves fetches: with Redis down (nothing listens on
    the port), the certificate is fetched and the complaint applied."""
    account = ses_account(feedback_webhook="ses", sns_topic_arn=OUR_TOPIC)
    down = {"BACKEND": "django.core.cache.backends.redis.RedisCache"}
    with override_settings(CACHES={"default": {**down, "LOCATION": "redis://127.0.0.1:9/0"}}):
        r = post(account, signed(sns_key, message=COMPLAINT))
    assert r.status_code == 200, r.content
    assert Suppression.objects.filter(email="victim@example.org").exists()
