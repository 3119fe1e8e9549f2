"""smtplib, minus the costs that dominate sending many large messages on one
connection: network round trips per envelope command, and a regular-expression pass
over every message.

- `MessageStream` sends one-recipient messages back to back with one round trip each
  where the server announces PIPELINING (RFC 2920): a message's end-of-data goes out
  together with the next message's MAIL FROM, RCPT TO and DATA. It writes a message's
  content and its end-of-data separately, so that the caller can record the message
  as handed over in between (see channels.email.sentmarks).
- Dot-stuffing uses `bytes.replace` on messages that already have CRLF line endings
  throughout (ours always do: see channels.email.mime), not smtplib's two regex passes.
- Internationalised domains go as punycode (IDNA); a non-ASCII mailbox name uses
  SMTPUTF8 where offered and is refused for that one recipient where not (smtplib on
  its own would raise UnicodeEncodeError).
- The connection goes through the SSRF guard (channels.netguard): the host is resolved,
  every address checked, and the socket connects to a checked address, while TLS (SSL
  or STARTTLS) still names and verifies the host. Loopback, private, link-local and
  IPv4-embedding addresses are refused unless `allow_internal` is given (an account
  marked internal); the refusal is an OSError, like any other failure to connect.
Errors raise exactly what smtplib's `sendmail` raises, so callers cannot tell the two
paths apart. Anything else goes through smtplib unchanged.
"""

from __future__ import annotations

import re
import smtplib
import socket

from channels.netguard import connect_checked

CRLF = b"\r\n"
END_OF_DATA = b"." + CRLF
# An address smtplib.quoteaddr would return as <address> unchanged: skip its parser,
# which costs more than the rest of an envelope.
_PLAIN_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"@]+@[^\s<>()\[\]\\,;:\"@]+")


def _only_crlf(message: bytes) -> bool:
    # Counting scans without copying 50 KB, unlike replacing CRLF and searching the rest.
    crlf = message.count(CRLF)
    return message.count(b"\n") == crlf and message.count(b"\r") == crlf


def _dot_stuffed(message: bytes) -> bytes:
    """RFC 5321 4.5.2 transparency, ending with a line break (not yet the final dot)."""
    stuffed = message.replace(b"\r\n.", b"\r\n..") if b"\r\n." in message else message
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    if not stuffed.endswith(CRLF):
        stuffed += CRLF
    return stuffed


def _quote(address: str) -> str:
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return smtplib.quoteaddr(address)


def ascii_domain(address: str) -> str:
    """`address` with its internationalised domain as punycode (IDNA), where the mailbox
    name is ASCII: such an address then needs nothing of the server. A non-ASCII
    mailbox name is left as it is: it needs SMTPUTF8 anyway, which allows either form."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii() or not local.isascii():
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:  # not a valid IDN: the server will refuse it, and say why
        return address


NO_SMTPUTF8 = (
    "the mail server does not offer SMTPUTF8, so it cannot take an address with a "
    "non-ASCII mailbox name"
)


class UnsupportedAddress(smtplib.SMTPRecipientsRefused):
    """A recipient refused by this client, not by the server: a non-ASCII mailbox name
    for a server without SMTPUTF8. It says nothing about the server or the address's
    existence, so the fan-out fails that one row and goes on."""


def international(conn: smtplib.SMTP, from_addr: str, to_addrs: list[str]):
    """Addresses with non-ASCII characters: IDN domains as punycode; a non-ASCII
    mailbox name with SMTPUTF8 (RFC 6531) where the server offers it, otherwise refused
    (a 501: UnsupportedAddress for a recipient, SMTPSenderRefused for our sender, as
    smtplib would raise them). Returns (from_addr, to_addrs, mail_options)."""
    from_addr, to_addrs = ascii_domain(from_addr), [ascii_domain(a) for a in to_addrs]
    if from_addr.isascii() and all(a.isascii() for a in to_addrs):
        return from_addr, to_addrs, ()
    conn.ehlo_or_helo_if_needed()
    if conn.has_extn("smtputf8"):
        return from_addr, to_addrs, ("SMTPUTF8",)
    reason = NO_SMTPUTF8.encode()
    if not from_addr.isascii():
        raise smtplib.SMTPSenderRefused(501, reason, from_addr)
    raise UnsupportedAddress({a: (501, reason) for a in to_addrs if not a.isascii()})


class MessageStream:
    """One-recipient messages over one connection, one round trip each with PIPELINING
    (lock-step commands without it). Per message, in this order:

        stream.start(to_addr)          # the first message, and after a refusal
        stream.read_envelope()         # SMTPRecipientsRefused / SenderRefused / DataError
        stream.write_content(message)  # bytes with CRLF line endings throughout
        stream.end_message(next_to, on_hand_over)  # end-of-data (and the next envelope)
        stream.read_data_reply()       # SMTPDataError when the server refuses it

    A connection dropped before `end_message` loses the message on the server's side
    (an unterminated DATA is discarded); after it, the server has all of it.
    """

    def __init__(self, conn: smtplib.SMTP, from_addr: str):
        conn.ehlo_or_helo_if_needed()
        # Each write is a whole group of commands or a whole message part: without this,
        # Nagle's algorithm holds the short end-of-data write back until the server
        # acknowledges the content, a delayed ACK later.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = conn
        self.from_addr = from_addr
        self.pipelining = bool(conn.does_esmtp and conn.has_extn("pipelining"))
        self._to: str | None = None  # recipient of the envelope to be answered next
        self._written = False  # that envelope's commands are already on the wire
        self._error: smtplib.SMTPException | None = None  # it could not be written
        self._in_data = False  # between the 354 and the end-of-data

    def _envelope(self, to_addr: str) -> tuple[str, str, str]:
        from_addr, options = self.from_addr, ""
        if not (from_addr.isascii() and to_addr.isascii()):
            from_addr, (to_addr,), mail_options = international(self.conn, from_addr, [to_addr])
            options = "".join(f" {o}" for o in mail_options)
        return f"MAIL FROM:{_quote(from_addr)}{options}", f"RCPT TO:{_quote(to_addr)}", to_addr

    def _open(self, to_addr: str | None, write_now: bool) -> bytes:
        """Remember the next envelope; returns its pipelined commands when they should
        go out now."""
        self._to, self._written, self._error = to_addr, False, None
        if to_addr is None or not write_now:
            return b""
        try:
            mail, rcpt, _to = self._envelope(to_addr)
        except smtplib.SMTPException as exc:
            self._error = exc
            return b""
        self._written = True
        return f"{mail}\r\n{rcpt}\r\nDATA\r\n".encode()

    def start(self, to_addr: str) -> None:
        commands = self._open(to_addr, write_now=self.pipelining)
        if commands:
            self.conn.send(commands)

    def read_envelope(self) -> None:
        """Raise what smtplib.sendmail raises when the envelope is refused (after an
        RSET, so the connection can go on)."""
        to_addr, self._to = self._to, None
        if self._error is not None:
            raise self._error
        if self._written:
            mail_reply = self.conn.getreply()
            rcpt_reply = self.conn.getreply()
            data_reply = self.conn.getreply()
        else:
            mail, rcpt, to_addr = self._envelope(to_addr)
            data_reply = rcpt_reply = (0, b"")
            mail_reply = self._command(mail)
            if mail_reply[0] == 250:
                rcpt_reply = self._command(rcpt)
                if rcpt_reply[0] in (250, 251):
                    data_reply = self._command("DATA")
        if mail_reply[0] != 250:
            self._abort(data_reply, mail_reply)
            raise smtplib.SMTPSenderRefused(mail_reply[0], mail_reply[1], self.from_addr)
        if rcpt_reply[0] not in (250, 251):
            self._abort(data_reply, rcpt_reply)
            raise smtplib.SMTPRecipientsRefused({to_addr: rcpt_reply})
        if data_reply[0] != 354:
            self._rset()
            raise smtplib.SMTPDataError(*data_reply)
        self._in_data = True

    def write_content(self, message: bytes, *, dot_stuffed: bool = False) -> None:
        """Write the message; `dot_stuffed` when it already is (MessageFrame does it
        once per issue, which saves a pass over every message here)."""
        if dot_stuffed:
            self.conn.send(message if message.endswith(CRLF) else message + CRLF)
        else:
            self.conn.send(_dot_stuffed(message))

    def end_message(self, next_to: str | None = None, on_hand_over=None) -> None:
        """Write the end-of-data (with the next envelope when pipelining), calling
        `on_hand_over()` right before the write, when every byte is ready: a caller
        recording the hand-over there leaves nothing but the write itself in between."""
        data = END_OF_DATA + self._open(next_to, write_now=self.pipelining)
        if on_hand_over is not None:
            on_hand_over()
        self.conn.send(data)
        self._in_data = False

    def read_data_reply(self) -> None:
        code, reply = self.conn.getreply()
        if code == 421:
            self.conn.close()
        if code != 250:
            # The end-of-data closed the transaction whatever the reply: no RSET, which
            # would also cancel a next envelope already pipelined behind it.
            raise smtplib.SMTPDataError(code, reply)

    def close(self) -> None:
        """QUIT, or just drop the connection in the middle of a message (a QUIT would
        be taken as content) or of unanswered commands."""
        try:
            if self._in_data or self._written:
                self.conn.close()
            else:
                self.conn.quit()
        except (OSError, smtplib.SMTPException):
            self.conn.close()

    def _command(self, line: str) -> tuple[int, bytes]:
        self.conn.send(f"{line}\r\n".encode())
        return self.conn.getreply()

    def _abort(self, data_reply, refusal) -> None:
        """A refused envelope: DATA was refused too (or, if a server accepted it
        anyway, end the empty message), then reset the transaction."""
        if refusal[0] == 421:
            self.conn.close()
            return
        if data_reply[0] == 354:
            self.conn.send(END_OF_DATA)
            self.conn.getreply()
        self._rset()

    def _rset(self) -> None:
        try:
            self.conn.rset()
        except smtplib.SMTPServerDisconnected:
            pass


class FastSendMixin:
    def sendmail(self, from_addr, to_addrs, msg, mail_options=(), rcpt_options=()):
        if isinstance(to_addrs, str):
            to_addrs = [to_addrs]
        streamable = (
            not mail_options
            and not rcpt_options
            and len(to_addrs) == 1
            and isinstance(msg, bytes)
            and _only_crlf(msg)
        )
        if not streamable:
            if not mail_options and not all(a.isascii() for a in (from_addr, *to_addrs)):
                from_addr, to_addrs, mail_options = international(self, from_addr, to_addrs)
            return super().sendmail(from_addr, to_addrs, msg, mail_options, rcpt_options)
        stream = MessageStream(self, from_addr)
        stream.start(to_addrs[0])
        stream.read_envelope()
        stream.write_content(msg)
        stream.end_message()
        stream.read_data_reply()
        return {}


class GuardedSocketMixin(smtplib.SMTP):
    """Connects through the SSRF guard. Below smtplib.SMTP_SSL in SMTP_SSL's order, so
    smtplib still wraps the checked socket in TLS for the host's name."""

    allow_internal = False

    def _get_socket(self, host, port, timeout):
        if timeout is not None and not timeout:
            raise ValueError("Non-blocking socket (timeout=0) is not supported")
        return connect_checked(
            host,
            port,
            allow_internal=self.allow_internal,
            timeout=socket.getdefaulttimeout()
            if timeout is socket._GLOBAL_DEFAULT_TIMEOUT
            else timeout,
            source_address=self.source_address,
        )


class SMTP(FastSendMixin, GuardedSocketMixin):
    """`SMTP(host, port, timeout=..., allow_internal=False)`, smtplib.SMTP otherwise."""

    def __init__(self, *args, allow_internal: bool = False, **kwargs):
        self.allow_internal = allow_internal  # before smtplib connects, in __init__
        super().__init__(*args, **kwargs)


class SMTP_SSL(FastSendMixin, smtplib.SMTP_SSL, GuardedSocketMixin):  # noqa: N801 - smtplib's name
    def __init__(self, *args, allow_internal: bool = False, **kwargs):
        self.allow_internal = allow_internal
        super().__init__(*args, **kwargs)
