"""Running the installed command on a real pseudo-terminal, as a user at a
terminal sees it (tests of colour, widths and progress bars)."""

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path


def run_on_terminal(args, columns=100, rows=60, env_extra=None, only_stderr=False, timeout=300):
    """(exit code, bytes the terminal received). With only_stderr, stdin and
    stdout go nowhere and only stderr is the terminal."""
    exe = Path(sys.executable).with_name("chat-recovery")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env.update(TERM="xterm-256color", **(env_extra or {}))
    streams = (
        {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": slave}
        if only_stderr
        else {"stdin": slave, "stdout": slave, "stderr": slave}
    )
    proc = subprocess.Popen([str(exe), *map(str, args)], env=env, close_fds=True, **streams)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=timeout), b"".join(chunks)


def interrupt_on_terminal(args, ready, timeout=300, env_extra=None):
    """Start the command with a pseudo-terminal as its controlling terminal,
    wait until `ready()` is true, then type Ctrl-C: the terminal sends SIGINT
    to its whole foreground process group, workers included, as a user's
    Ctrl-C does. (exit code, bytes the terminal received, process group).
    The timeout only ends a hang."""
    exe = Path(sys.executable).with_name("chat-recovery")
    master, slave = pty.openpty()

    def take_terminal():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [str(exe), *map(str, args)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
        start_new_session=True,
        preexec_fn=take_terminal,
        env={**os.environ, **(env_extra or {})},
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    interrupted = False
    while time.monotonic() < deadline:
        if not interrupted and ready():
            os.write(master, b"\x03")
            interrupted = True
        readable, _, _ = select.select([master], [], [], 0.02)
        if readable:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=timeout), b"".join(chunks), proc.pid
