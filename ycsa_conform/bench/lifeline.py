"""Child processes that die with their parent: the bench's broker (mosquitto), its serial links
(socat) and a fleet bench (`ycsa-conform bench` in its own process).

A parent killed with SIGKILL (or by a CI timeout that kills only it) runs no finalizer, so its
children would be orphaned and keep their ports and ptys. On Linux each child asks the kernel
for SIGTERM when its parent ends (prctl PR_SET_PDEATHSIG), set in the child between fork and
exec. Elsewhere nothing is set and the finalizers remain the only cleanup.

PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, so the bench starts its
children from the thread that lives as long as the bench (the main thread in every caller).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen that makes the child receive SIGTERM when this
    process ends; None where the platform has no such request (then Popen runs nothing)."""
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    libc = ctypes.CDLL(libc_name, use_errno=True)
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        # The parent may have ended between fork and prctl: then nothing would ever signal us.
        if os.getppid() != parent:
            os._exit(1)

    return preexec
