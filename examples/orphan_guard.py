"""``python -m examples.orphan_guard PARENT_PID COMMAND...``: exec COMMAND, bound to its parent.

Asks the kernel (Linux ``PR_SET_PDEATHSIG``) to send SIGTERM to this process when its parent
dies, checks that the parent is still ``PARENT_PID`` (it may have died before the request took
effect), then replaces itself with ``COMMAND``; the request survives ``execv``. This is how the
demo and benchmark drivers guarantee that no emulator, simulator or operator outlives them, even
when they are killed with SIGKILL, without running code between ``fork`` and ``exec`` in a
threaded parent. Elsewhere than Linux it simply runs the command.

It must never do anything else: no imports beyond the standard library, no output.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
EXIT_PARENT_GONE = 3


def bind_to_parent(parent_pid: int) -> bool:
    """True when the death signal is set and the parent is still alive."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            return False
    return os.getppid() == parent_pid


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not argv[0].isdigit():
        print("usage: python -m examples.orphan_guard PARENT_PID COMMAND...", file=sys.stderr)
        return 2
    if not bind_to_parent(int(argv[0])):
        return EXIT_PARENT_GONE
    os.execv(argv[1], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
