"""The e-zine adapter ("ezine/email"): an EZineIssuePage sent through the email
channel's renderer and fan-out, to the e-zine's own list."""

from channels.email.adapter import EmailAdapter


class EZineAdapter(EmailAdapter):
    kind = "ezine/email"
