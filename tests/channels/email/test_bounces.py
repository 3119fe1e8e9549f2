"""Bounce and complaint feedback: SES via SNS, Mailgun, DSN messages. Signatures are
really computed and verified (a throwaway certificate stands in for Amazon's)."""

import base64
import datetime
import hashlib
import hmac
import json
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from django.core.cache import cache
from django.test import Client

from campaigns.audiences.models import Suppression
from channels.email import bounces
from tests.factories import ChannelAccountFactory

CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem"
TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:ses-feedback"


@pytest.fixture
def sns_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cache.set(
        "email:sns-cert:" + hashlib.sha256(CERT_URL.encode()).hexdigest(),
        cert.public_bytes(serialization.Encoding.PEM),
    )
    yield key
    cache.clear()


def signed_sns(key, message: dict, msg_type="Notification") -> dict:
    payload = {
        "Type": msg_type,
        "MessageId": "1",
        "TopicArn": TOPIC_ARN,
        "Message": json.dumps(message),
        "Timestamp": "2026-11-22T08:00:00.000Z",
        "SignatureVersion": "2",
        "SigningCertURL": CERT_URL,
    }
    lines = []
    for field in ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]:
        if field in payload:
            lines += [field, payload[field]]
    data = ("\n".join(lines) + "\n").encode()
    payload["Signature"] = base64.b64encode(
        key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    return payload


@pytest.fixture
def account(db):
    return ChannelAccountFactory(
        kind="email/smtp",
        secrets={"mailgun_signing_key": "mg-key"},
        settings={"sns_topic_arn": TOPIC_ARN},
    )


SES_BOUNCE = {
    "notificationType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [{"emailAddress": "gone@example.org", "diagnosticCode": "550"}],
    },
    "mail": {"commonHeaders": {"messageId": "<x@y>"}},
}


@pytest.mark.django_db
def test_ses_bounce_and_complaint_suppress(sns_key, account):
    client = Client()
    url = f"/hooks/email/{account.pk}/ses/"
    r = client.post(url, json.dumps(signed_sns(sns_key, SES_BOUNCE)), content_type="text/plain")
    assert r.status_code == 200
    assert Suppression.objects.get(email="gone@example.org").reason == "hard_bounce"
    complaint = {
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": "angry@example.org"}]},
        "mail": {},
    }
    r = client.post(url, json.dumps(signed_sns(sns_key, complaint)), content_type="text/plain")
    assert r.status_code == 200
    assert Suppression.objects.get(email="angry@example.org").reason == "complaint"


@pytest.mark.django_db
def test_ses_soft_bounce_does_not_suppress(sns_key, account):
    soft = json.loads(json.dumps(SES_BOUNCE))
    soft["bounce"]["bounceType"] = "Transient"
    r = Client().post(
        f"/hooks/email/{account.pk}/ses/",
        json.dumps(signed_sns(sns_key, soft)),
        content_type="text/plain",
    )
    assert r.status_code == 200 and not Suppression.objects.exists()


@pytest.mark.django_db
def test_ses_forged_or_tampered_is_refused(sns_key, account):
    payload = signed_sns(sns_key, SES_BOUNCE)
    payload["Message"] = payload["Message"].replace("gone@", "victim@")
    url = f"/hooks/email/{account.pk}/ses/"
    assert Client().post(url, json.dumps(payload), content_type="text/plain").status_code == 400
    evil = signed_sns(sns_key, SES_BOUNCE)
    evil["SigningCertURL"] = "https://evil.example.com/cert.pem"
    assert Client().post(url, json.dumps(evil), content_type="text/plain").status_code == 400
    assert Client().post(url, "not json", content_type="text/plain").status_code == 400
    assert not Suppression.objects.exists()


def mailgun_body(event_data, key="mg-key", timestamp=None, token="tok-1"):
    timestamp = str(int(timestamp or time.time()))
    sig = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": timestamp, "token": token, "signature": sig},
            "event-data": event_data,
        }
    )


@pytest.mark.django_db
def test_mailgun_permanent_failure_and_replay(account):
    cache.clear()
    url = f"/hooks/email/{account.pk}/mailgun/"
    event = {"event": "failed", "severity": "permanent", "recipient": "mg@example.org"}
    body = mailgun_body(event)
    assert Client().post(url, body, content_type="application/json").status_code == 200
    assert Suppression.objects.filter(email="mg@example.org", reason="hard_bounce").exists()
    # The same signed request again is a replay.
    assert Client().post(url, body, content_type="application/json").status_code == 406


@pytest.mark.django_db
def test_mailgun_bad_signature_and_stale(account):
    cache.clear()
    url = f"/hooks/email/{account.pk}/mailgun/"
    event = {"event": "complained", "recipient": "c@example.org"}
    bad = mailgun_body(event, key="wrong")
    assert Client().post(url, bad, content_type="application/json").status_code == 406
    stale = mailgun_body(event, timestamp=time.time() - 3600, token="tok-2")
    assert Client().post(url, stale, content_type="application/json").status_code == 406
    assert not Suppression.objects.exists()


DSN = b"""From: MAILER-DAEMON@mx.example.net
To: bounces@hub.example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

The mail system could not deliver your message.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; nobody@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

Final-Recipient: rfc822; full@example.net
Action: failed
Status: 4.2.2
Diagnostic-Code: smtp; 452 mailbox full

--B
Content-Type: text/rfc822-headers

Message-ID: <0123456789abcdef0123456789abcdef.42@hub.example.com>
Subject: November news

--B--
"""


@pytest.mark.django_db
def test_dsn_parser_feeds_suppression():
    items = bounces.parse_dsn(DSN)
    assert [(i.kind, i.email) for i in items] == [
        ("bounce", "nobody@example.net"),
        ("soft_bounce", "full@example.net"),
    ]
    assert items[0].message_id == "<0123456789abcdef0123456789abcdef.42@hub.example.com>"
    assert bounces.process_bounce_message(DSN) == 1
    assert Suppression.objects.filter(email="nobody@example.net").exists()
    assert not Suppression.objects.filter(email="full@example.net").exists()
    assert bounces.parse_dsn(b"Subject: hello\n\nnot a bounce") == []
