"""The fast SMTP client (channels.email.smtp) and the quoted-printable merge
(channels.email.mime), against a real SMTP server on loopback."""

import binascii
import random
import smtplib

import pytest

from channels.email import smtp
from channels.email.mime import QuotedPrintableMerge
from channels.email.rendering import CompiledMerge

MESSAGE = (
    b"From: a@hub.example.com\r\nTo: b@example.org\r\nSubject: dots\r\n\r\n"
    b".a line that starts with a dot\r\n..two dots\r\n.\r\nlast line\r\n"
)


class CountingSMTP(smtp.SMTP):
    """Counts the writes the client makes, to tell pipelined from lock-step sends."""

    writes = 0

    def send(self, s):
        self.writes += 1
        return super().send(s)


def connect(server, cls=CountingSMTP):
    controller, _handler = server
    conn = cls(controller.hostname, controller.port, timeout=10, allow_internal=True)
    conn.ehlo()
    return conn


@pytest.mark.parametrize("pipelining", [True, False])
def test_message_arrives_byte_for_byte_with_dot_lines(smtp_server, pipelining):
    _controller, handler = smtp_server
    handler.pipelining = pipelining
    conn = connect(smtp_server)
    assert conn.has_extn("pipelining") is pipelining
    conn.writes = 0
    assert conn.sendmail("a@hub.example.com", ["b@example.org"], MESSAGE) == {}
    # Pipelined: envelope + DATA in one write, then the content, then the end-of-data
    # (written apart so a sender can record the hand-over in between). Lock-step:
    # MAIL, RCPT and DATA one write each, then the same two.
    assert conn.writes == (3 if pipelining else 5)
    conn.quit()
    ((rcpts, raw),) = handler.messages
    assert rcpts == ["b@example.org"]
    assert raw == MESSAGE


def test_refused_recipient_raises_like_smtplib_and_the_connection_goes_on(smtp_server):
    _controller, handler = smtp_server
    handler.refuse["gone@example.org"] = "550 5.1.1 No such user"
    conn = connect(smtp_server)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        conn.sendmail("a@hub.example.com", ["gone@example.org"], MESSAGE)
    assert refused.value.recipients == {"gone@example.org": (550, b"5.1.1 No such user")}
    conn.sendmail("a@hub.example.com", ["b@example.org"], MESSAGE)
    conn.quit()
    assert [rcpts for rcpts, _raw in handler.messages] == [["b@example.org"]]


def test_refused_message_raises_data_error_and_the_connection_goes_on(smtp_server):
    _controller, handler = smtp_server
    handler.refuse_data = "554 5.7.1 Message rejected as spam"
    conn = connect(smtp_server)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        conn.sendmail("a@hub.example.com", ["b@example.org"], MESSAGE)
    assert refused.value.smtp_code == 554
    handler.refuse_data = None
    conn.sendmail("a@hub.example.com", ["b@example.org"], MESSAGE)
    conn.quit()
    assert len(handler.messages) == 1


def test_message_with_bare_newlines_takes_smtplib_path_and_arrives_intact(smtp_server):
    _controller, handler = smtp_server
    conn = connect(smtp_server)
    conn.writes = 0
    conn.sendmail("a@hub.example.com", ["b@example.org"], "Subject: s\n\none\n.dot\n")
    assert conn.writes == 4  # smtplib's lock-step path, which fixes the line endings
    conn.quit()
    assert handler.messages[0][1] == b"Subject: s\r\n\r\none\r\n.dot\r\n"


def test_international_addresses_use_smtputf8_where_offered(smtp_server):
    _controller, handler = smtp_server
    conn = connect(smtp_server)
    conn.sendmail("a@hub.example.com", ["用户@例え.jp"], MESSAGE)
    conn.quit()
    assert handler.messages[0][0] == ["用户@例え.jp"]


def test_international_domain_is_sent_as_idna_without_smtputf8(smtp_server):
    _controller, handler = smtp_server
    handler.smtputf8 = False
    conn = connect(smtp_server)
    conn.sendmail("a@hub.example.com", ["reader@例え.jp"], MESSAGE)
    conn.quit()
    assert handler.messages[0][0] == ["reader@xn--r8jz45g.jp"]


def test_non_ascii_mailbox_without_smtputf8_is_refused_clearly(smtp_server):
    _controller, handler = smtp_server
    handler.smtputf8 = False
    conn = connect(smtp_server)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        conn.sendmail("a@hub.example.com", ["用户@example.org"], MESSAGE)
    ((code, reason),) = refused.value.recipients.values()
    assert code == 501 and b"SMTPUTF8" in reason
    conn.sendmail("a@hub.example.com", ["b@example.org"], MESSAGE)  # the connection goes on
    conn.quit()
    assert [rcpts for rcpts, _raw in handler.messages] == [["b@example.org"]]


def test_quoted_printable_merge_decodes_to_the_plain_merge(naughty_strings):
    """Whatever the template and values, the encoded part decodes to exactly what the
    plain merge gives, with CRLF line endings and no line over 76 characters."""
    naughty = naughty_strings
    rng = random.Random(20261201)
    fillers = ["\n", "\r\n", " ", "\t", ".", "\n.", "=", "x" * 75, "y" * 76, "é" * 40]
    tags = ["{{ name }}", "{{email}}", "[[unsubscribe_url]]", "http://127.0.0.1:8000/t/Ab_1 ", ""]
    checked = 0
    for _ in range(400):
        template = "".join(
            rng.choice(naughty + fillers) + rng.choice(tags) for _ in range(rng.randint(0, 25))
        )
        values = {
            "name": rng.choice(naughty + [".leading dot", "two\n.lines", "."]),
            "first_name": "x",
            "email": "reader@example.org",
            "m": "token.sig",
            "unsubscribe_url": "https://hub.example.com/u/" + "z" * rng.randint(0, 120),
            "preferences_url": "https://hub.example.com/p/",
            "open_pixel_url": "https://hub.example.com/t/o/x",
        }
        for escape in (True, False):
            plain = CompiledMerge(template, escape=escape).merge(dict(values))
            encoded = QuotedPrintableMerge(template, escape=escape).encode(dict(values))
            expected = plain.replace("\r\n", "\n").replace("\n", "\r\n").encode()
            assert binascii.a2b_qp(encoded) == expected
            assert encoded.count(b"\n") == encoded.count(b"\r\n") == encoded.count(b"\r")
            assert max(len(line) for line in encoded.split(b"\r\n")) <= 76
            # Dot-stuffed once per issue (chunks) and per value: the same bytes as
            # stuffing the whole part at send time (the part starts a line).
            merge = QuotedPrintableMerge(template, escape=escape)
            if merge.can_dot_stuff:
                stuffed = (b"." + encoded if encoded.startswith(b".") else encoded).replace(
                    b"\r\n.", b"\r\n.."
                )
                assert merge.encode(dict(values), dot_stuffed=True) == stuffed
                checked += 1
    assert checked > 300  # most templates qualify; the rest are sent the slow way


def test_stream_sends_a_message_stuffed_in_advance_as_is(smtp_server):
    _controller, handler = smtp_server
    conn = connect(smtp_server)
    stream = smtp.MessageStream(conn, "a@hub.example.com")
    stream.start("b@example.org")
    stream.read_envelope()
    stuffed = MESSAGE.replace(b"\r\n.", b"\r\n..")
    stream.write_content(stuffed, dot_stuffed=True)
    stream.end_message()
    stream.read_data_reply()
    stream.close()
    assert handler.messages[0][1] == MESSAGE
