"""Progress of long phases: a bar on a terminal, one log line per phase otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts images of one phase; use as a context manager and call with images done.

    On a terminal it redraws a bar with images per second and time left; otherwise it
    prints one line when the phase ends.
    """

    def __init__(self, label: str, total: int, stream: TextIO | None = None, enabled: bool = True):
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.done = 0
        self.interactive = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()

    def __enter__(self) -> "Progress":
        self.start = time.perf_counter()
        if self.interactive:
            self._draw()
        return self

    def __call__(self, images: int) -> None:
        self.done += images
        if self.interactive:
            self._draw()

    def _rate(self) -> float:
        elapsed = time.perf_counter() - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def _draw(self) -> None:
        width = 30
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(width * frac) + "-" * (width - int(width * frac))
        rate = self._rate()
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta = f"{left:5.0f} s left" if rate > 0 else "   ... s left"
        self.stream.write(f"\r{self.label:<12} [{bar}] {self.done}/{self.total} "
                          f"{rate:7.1f} images/s {eta}")
        self.stream.flush()

    def __exit__(self, exc_type, *exc) -> None:
        self.seconds = time.perf_counter() - self.start
        if not self.enabled:
            return
        if self.interactive:
            self.stream.write("\n")
        elif exc_type is not None:  # a phase that failed is not reported as done
            return
        else:
            self.stream.write(f"{self.label}: {self.done} images in {self.seconds:.1f} s "
                              f"({self._rate():.0f} images/s)\n")
        self.stream.flush()
