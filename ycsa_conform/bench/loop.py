"""One asyncio event loop in a thread of its own, shared by every server of a fleet bench.

    shared = SharedLoop()
    port = shared.run(open_server())        # a coroutine run on the loop, its result here
    shared.call(callback, argument)         # a plain call on the loop, from any thread
    shared.stop()                           # cancels what still runs, ends the thread

A thousand poles cannot have a thread and a loop per server: the loop waits with epoll (no
FD_SETSIZE limit, unlike select()), and an idle server costs a few kilobytes, not a thread.
Each server stops its own tasks; `stop()` cancels whatever is left.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["SharedLoop", "cancel_others"]

T = TypeVar("T")

_TIMEOUT = 30.0  # s a coroutine run from another thread may take, unless told
_STOP_TIMEOUT = 10.0  # s


class SharedLoop:
    def __init__(self, *, name: str = "ycsa-bench-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], *, timeout: float = _TIMEOUT) -> T:
        """Run `coroutine` on the loop and return its result (from any other thread)."""
        if self.in_loop():
            coroutine.close()
            raise RuntimeError(f"{self!r}.run() would wait for itself; await the coroutine")
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def call(self, callback: Callable[..., object], *args: Any) -> None:
        """Call `callback(*args)` on the loop soon: at once when already on it."""
        if self.in_loop():
            callback(*args)
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(callback, *args)

    def in_loop(self) -> bool:
        return threading.current_thread() is self._thread

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Cancel the tasks still running, stop the loop and end its thread; idempotent."""
        if not self._thread.is_alive():
            if not self.loop.is_closed():
                self.loop.close()
            return
        self.run(cancel_others(), timeout=_STOP_TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(_STOP_TIMEOUT)
        if not self._thread.is_alive():
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def __repr__(self) -> str:
        state = "running" if self._thread.is_alive() else "stopped"
        return f"<SharedLoop {self._thread.name} {state}>"


async def cancel_others() -> None:
    """Cancel every task of the running loop but the caller's, and let them end."""
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    # Let the closed transports release their sockets before the loop goes.
    for _ in range(3):
        await asyncio.sleep(0)
