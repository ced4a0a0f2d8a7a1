"""A real SMTP server for the delivery tests (aiosmtpd): stores each message it accepts as
<maildir>/<n>.eml, refuses recipients whose mailbox starts with "unknown" (550 at RCPT), and
answers 451 to the first --tempfail messages (a server asking to try again later).

    python3 tests/support/smtp_sink.py --port 2525 --maildir DIR [--tempfail N]

Prints "ready" once it accepts connections; stops when stdin closes (the test ends).
"""
import argparse
import asyncio
import itertools
import os
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, maildir, tempfail):
        self.maildir = maildir
        self.tempfail = tempfail
        self.numbers = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].startswith("unknown"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.tempfail > 0:
                self.tempfail -= 1
                return "451 4.3.0 Try again later"
            number = next(self.numbers)
        path = os.path.join(self.maildir, f"{number:06d}.eml")
        with open(path + ".tmp", "wb") as out:
            out.write(envelope.original_content or envelope.content)
        os.replace(path + ".tmp", path)
        return "250 2.0.0 Message accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--tempfail", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.maildir, exist_ok=True)
    controller = Controller(Sink(args.maildir, args.tempfail), hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
