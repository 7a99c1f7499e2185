"""Run-time support of the command line: progress lines on stderr and a hard time limit.

Neither imports SymPy or NumPy. :func:`time_limit` uses ``SIGALRM`` (Unix, main thread):
SymPy cannot be interrupted cooperatively everywhere, but a signal handler can raise
between any two Python bytecodes.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

PROGRESS_DELAY, PROGRESS_PERIOD = 5.0, 10.0   # seconds before the first line, between lines


class Progress:
    """Prints ``symdyn: STAGE ... (N s)`` on stderr every ``PROGRESS_PERIOD`` seconds once a
    command has run ``PROGRESS_DELAY`` seconds, so long solves are never silent."""

    def __init__(self, stage: str = "working") -> None:
        self.stage = stage
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start = self._last = 0.0

    def _run(self) -> None:
        import time

        waited = PROGRESS_DELAY
        while not self._stop.wait(waited):
            now = time.monotonic()
            if now - self._last >= PROGRESS_PERIOD - 0.5:  # quiet while steps are printed
                print(f"symdyn: {self.stage} ... ({now - self._start:.0f} s)",
                      file=sys.stderr, flush=True)
                self._last = now
            waited = PROGRESS_PERIOD

    def __enter__(self) -> Progress:
        import time

        self._start = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No progress thread inside the block, so that work there may fork processes:
        a fork copies the locks of every thread, and only a single-threaded process
        forks safely. :meth:`report`'s lines still print; the periodic line resumes after."""
        running = self._thread.is_alive()
        if running:
            self._stop.set()
            self._thread.join()
        try:
            yield
        finally:
            if running:
                self._stop = threading.Event()
                self._thread = threading.Thread(target=self._run, daemon=True)
                with suppress(RuntimeError):  # the interpreter is shutting down
                    self._thread.start()

    def report(self, prefix: str) -> Callable[[str, float], None]:
        """A ``progress(step, fraction)`` callback that prints each step and remembers it."""
        def report(step: str, fraction: float) -> None:
            import time

            self.stage, self._last = f"{prefix}: {step}", time.monotonic()
            print(f"[{prefix} {100 * fraction:5.1f}%] {step}", file=sys.stderr, flush=True)

        return report


class Expired(BaseException):
    """Raised by the alarm. A BaseException, so that library code catching Exception
    cannot swallow it; the timer also repeats until the handler's frame is left."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`Expired` in the main thread after ``seconds`` (Unix, main thread
    only; elsewhere the library's own cooperative deadlines are the only limit).

    An interval timer already running (pytest-timeout's, say) keeps its deadline: its
    handler runs if it comes first, and it is re-armed afterwards.
    """
    if seconds is None or not hasattr(signal, "setitimer") \
            or threading.current_thread() is not threading.main_thread():
        yield
        return
    import time

    start = time.monotonic()
    deadline = start + seconds
    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    outer = start + outer_delay if outer_delay > 0 else None
    outer_fired = False

    def on_alarm(signum, frame):
        nonlocal outer_fired
        now = time.monotonic()
        if outer is not None and not outer_fired and now >= outer - 1e-3:
            outer_fired = True
            if now < deadline:
                signal.setitimer(signal.ITIMER_REAL, deadline - now, 0.25)
            if callable(previous):
                previous(signum, frame)
            return
        if now >= deadline - 1e-3:
            raise Expired

    def unraisable(info) -> None:
        # An alarm landing in a weakref callback or __del__ cannot propagate; Python would
        # print it as "Exception ignored". Drop it quietly: the timer fires again shortly.
        if not isinstance(info.exc_value, Expired):
            hook(info)

    hook = sys.unraisablehook
    previous = signal.signal(signal.SIGALRM, on_alarm)
    sys.unraisablehook = unraisable
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer_delay or seconds), 0.25)
    try:
        yield
    finally:
        while True:  # the alarm may fire while it is being cancelled: cancel again
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
                sys.unraisablehook = hook
                if outer is not None and not outer_fired:
                    signal.setitimer(signal.ITIMER_REAL, max(outer - time.monotonic(), 1e-3),
                                     outer_interval)
                break
            except Expired:
                continue
