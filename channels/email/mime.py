"""Build one recipient's message as bytes, fast.

The headers that are the same for every recipient are encoded once per batch
(`MessageFrame`); per recipient we only format To, Message-ID, the unsubscribe headers
and the two quoted-printable parts, of which only the merged values are encoded per
recipient (`QuotedPrintableMerge`). Optional DKIM signing with dkimpy when the account
has a key.
"""

from __future__ import annotations

import binascii
import secrets
from email.header import Header
from email.utils import formataddr, formatdate

from .config import SMTPConfig
from .rendering import CompiledMerge
from .smtp import ascii_domain


def _header(value: str) -> str:
    """RFC 2047-encode a header value only when it is not plain ASCII."""
    try:
        value.encode("ascii")
        return value
    except UnicodeEncodeError:
        return Header(value, "utf-8").encode(linesep="\r\n")  # folded lines: CRLF too


def _qp(text: str) -> bytes:
    data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
    if b"\r\n" not in data:
        # b2a_qp ends its soft line breaks like the input's first line ending, and with
        # no line ending to copy it uses a bare LF: the message must be CRLF throughout.
        encoded = encoded.replace(b"\n", b"\r\n")
    return encoded


_PLACEHOLDER = "<x@x.invalid>"


def mailbox(name: str, address: str) -> str:
    """A From or To header value. email.utils.formataddr raises on a non-ASCII address,
    so only the name goes through it (RFC 2047 where needed); the address has its IDN
    domain as punycode, and a non-ASCII mailbox name stays UTF-8 (RFC 6532), which is
    only ever sent over SMTPUTF8 (channels.email.smtp refuses it otherwise)."""
    address = ascii_domain(address)
    if not name:
        return address if address.isascii() else f"<{address}>"
    quoted_name = formataddr((name, _PLACEHOLDER[1:-1]), charset="utf-8")[: -len(_PLACEHOLDER)]
    return f"{quoted_name}<{address}>"


SOFT_BREAK = b"=\r\n"
QP_LINE = 76


def _then_soft_break(encoded: bytes) -> bytes:
    """`encoded` followed by a soft line break, its last line kept within 76 characters
    (b2a_qp may fill a final line to 76, and the break's "=" would make it 77)."""
    last = len(encoded) - (encoded.rfind(b"\n") + 1)
    if last < QP_LINE:
        return encoded + SOFT_BREAK
    cut = len(encoded) - (3 if encoded[-3:-2] == b"=" else 1)  # never split an =XX escape
    return encoded[:cut] + SOFT_BREAK + encoded[cut:] + SOFT_BREAK


class QuotedPrintableMerge:
    """A CompiledMerge whose static chunks are quoted-printable encoded once.

    Per recipient only the merged values (names, links) are encoded. Each one sits
    between two soft line breaks, so no line grows past QP's 76 characters where the
    pieces meet; decoders join soft-broken lines, so the decoded part is exactly the
    plain merge. Encoding a 50 KB part per recipient was most of the send loop's time.
    """

    __slots__ = ("merge", "encoded_chunks", "broken_chunks", "stuffed", "can_dot_stuff")

    def __init__(self, template: str, *, escape: bool):
        self.merge = CompiledMerge(template, escape=escape)
        self.encoded_chunks = [_qp(chunk) for chunk in self.merge.chunks]
        self.broken_chunks = [_then_soft_break(chunk) for chunk in self.encoded_chunks]
        # The same chunks dot-stuffed for SMTP (RFC 5321 4.5.2), once per issue instead
        # of a pass over every recipient's message. That is only right if no chunk
        # starts a line with ".", which a chunk can do wherever it begins: at the start
        # of the part, or after a soft break or another chunk. Merged values always
        # start a line (they follow a soft break) and are stuffed as they are encoded.
        self.can_dot_stuff = not any(c.startswith(b".") for c in self.encoded_chunks)
        self.stuffed = (
            [_stuff(c) for c in self.encoded_chunks],
            [_stuff(c) for c in self.broken_chunks],
        )

    def encode(self, values: dict, *, dot_stuffed: bool = False) -> bytes:
        """The part for one recipient; dot-stuffed for SMTP with `dot_stuffed` (only
        when `can_dot_stuff`)."""
        chunks, broken = self.stuffed if dot_stuffed else (self.encoded_chunks, self.broken_chunks)
        out = []
        encoded_values: dict[str, bytes] = {}  # a name may appear many times
        for i, value in enumerate(self.merge.values_for(values)):
            if value:
                encoded = encoded_values.get(value)
                if encoded is None:
                    encoded = _then_soft_break(_qp(value))
                    if dot_stuffed:
                        encoded = _stuff(b"." + encoded if encoded[:1] == b"." else encoded)
                    encoded_values[value] = encoded
                out += (broken[i], encoded)
            else:
                # Still a soft break: two chunks joined on one line could pass 76
                # characters (SpamAssassin's MIME_QP_LONG_LINE, and RFC 2045 6.7).
                out.append(broken[i])
        out.append(chunks[-1])
        return b"".join(out)


def _stuff(data: bytes) -> bytes:
    return data.replace(b"\r\n.", b"\r\n..")


FEEDBACK_SENDER_ID = "campaignhub"


def feedback_id_for(*, publication_id: int, campaign_id: int | None, account_id: int) -> str:
    """Gmail's Feedback-ID value, `a:b:c:SenderId` (Postmaster Tools' feedback loop):
    this mailing, its campaign and the sending account, then our constant sender id
    (5 to 15 characters). Each identifier has its own prefix because Gmail aggregates
    every field on its own and asks that values never repeat across fields. Ids only:
    nothing about the recipient."""
    campaign = f"c{campaign_id}" if campaign_id else ""
    return f"p{publication_id}:{campaign}:a{account_id}:{FEEDBACK_SENDER_ID}"


class MessageFrame:
    """Everything about a message that is shared by every recipient of one send."""

    def __init__(
        self,
        config: SMTPConfig,
        *,
        subject: str,
        html: str,
        text: str,
        list_id: str,
        feedback_id: str = "",
    ):
        self.config = config
        self.feedback_id = feedback_id
        self.from_header = mailbox(config.from_name, config.from_email)
        self.subject = _header(subject)
        self.html = QuotedPrintableMerge(html, escape=True)
        self.text = QuotedPrintableMerge(text, escape=False)
        self.list_id = list_id
        self.boundary = "=_" + secrets.token_hex(16)
        self.date = formatdate(usegmt=True)
        self.dkim_key = config.dkim_private_key.encode() if config.dkim_private_key else None
        # Whether build() can return messages already dot-stuffed for SMTP: not when
        # they are DKIM-signed (the signature covers the message as received,
        # unstuffed). Headers and MIME boundaries never start a line with ".".
        self.can_dot_stuff = (
            self.html.can_dot_stuff
            and self.text.can_dot_stuff
            and not (self.dkim_key and config.dkim_selector)
        )

    def build(
        self,
        *,
        to_email: str,
        to_name: str,
        message_id: str,
        values: dict,
        dot_stuffed: bool = False,
    ) -> bytes:
        """The full RFC 5322 message for one recipient, CRLF line endings; with
        `dot_stuffed` (only when `can_dot_stuff`) already dot-stuffed for SMTP, to be
        written as such (MessageStream.write_content(..., dot_stuffed=True))."""
        if dot_stuffed and not self.can_dot_stuff:
            raise ValueError("this issue cannot be dot-stuffed in advance")
        cfg = self.config
        unsub = values["unsubscribe_url"]
        mailto_token = unsub.rstrip("/").rpartition("/")[2]
        headers = [
            f"From: {self.from_header}",
            f"To: {mailbox(to_name, to_email)}",
            f"Subject: {self.subject}",
            f"Date: {self.date}",
            f"Message-ID: {message_id}",
            f"List-Id: {self.list_id}",
            # RFC 2369 + RFC 8058: mailto for old clients, https + one-click POST for
            # Gmail/Yahoo. The mailto subject carries the same signed token.
            f"List-Unsubscribe: <mailto:unsubscribe@{cfg.message_id_domain}"
            f"?subject=unsubscribe%20{mailto_token}>, <{unsub}>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            *([f"Feedback-ID: {self.feedback_id}"] if self.feedback_id else []),
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative; boundary="{self.boundary}"',
        ]
        if cfg.reply_to:
            headers.insert(2, f"Reply-To: {cfg.reply_to}")
        b = self.boundary
        head = "\r\n".join(headers).encode("utf-8")
        text_part = self.text.encode(values, dot_stuffed=dot_stuffed)
        html_part = self.html.encode(values, dot_stuffed=dot_stuffed)
        message = b"".join(
            [
                head,
                b"\r\n\r\n",
                f"--{b}\r\nContent-Type: text/plain; charset=utf-8\r\n".encode(),
                b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                text_part,
                f"\r\n--{b}\r\nContent-Type: text/html; charset=utf-8\r\n".encode(),
                b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                html_part,
                f"\r\n--{b}--\r\n".encode(),
            ]
        )
        if self.dkim_key and cfg.dkim_selector:
            message = sign_dkim(message, cfg, self.dkim_key)
        return message


def sign_dkim(message: bytes, cfg: SMTPConfig, key: bytes) -> bytes:
    import dkim

    domain = cfg.dkim_domain or cfg.from_email.rpartition("@")[2]
    signature = dkim.sign(
        message,
        cfg.dkim_selector.encode(),
        domain.encode(),
        key,
        include_headers=[
            b"from",
            b"to",
            b"subject",
            b"date",
            b"message-id",
            b"list-unsubscribe",
            b"list-unsubscribe-post",
            # Gmail reads a Feedback-ID only when the sender's DKIM signature covers it.
            b"feedback-id",
            b"mime-version",
            b"content-type",
        ],
    )
    return signature + message
