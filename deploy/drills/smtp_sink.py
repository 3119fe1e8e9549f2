"""The drill's loopback SMTP server, run as its own process like a real mail server:
`python -m deploy.drills.smtp_sink PORT LOG`.

Every accepted recipient is appended to LOG as one line, written (one `write`) before
the 250 reply goes out, so the log is what the server accepted. The runner counts the
lines. It runs outside the runner's process on purpose: in-process, the server shared
the runner's GIL, so while the runner polled its counts the server could not answer,
and the runner's `kill -9` landed exactly while finished messages sat unread in a frozen
server, an artifact no real deployment has.
"""

from __future__ import annotations

import os
import signal
import sys
import threading


def main() -> int:
    from aiosmtpd.controller import Controller

    port, log_path = int(sys.argv[1]), sys.argv[2]
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            lines = "".join(f"{rcpt.lower()}\n" for rcpt in envelope.rcpt_tos)
            os.write(log, lines.encode())  # one append: a reader sees whole lines
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    controller.stop()
    os.close(log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
