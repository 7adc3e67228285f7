"""Which IANA zone a point's clocks keep, answered offline by ``timezonefinder``.

One finder per process, created on first use: importing timezonefinder (numpy)
and opening its polygon files takes about 0.2 s, a lookup then takes a few µs.
``in_memory=False`` memory-maps the polygon files instead of copying them: it is
the faster of the two to create (~15 ms vs ~30 ms), answers just as fast once
the pages are cached, and lets several workers share the pages.
"""

from __future__ import annotations

import atexit
import math
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from timezonefinder import TimezoneFinder

_finder: TimezoneFinder | None = None
# timezonefinder's docs ask for one finder per thread; a lookup is a few µs, so
# one shared finder behind a lock is cheaper than a finder (and maps) per thread.
_lock = threading.Lock()


def timezone_at(lat: float, lon: float) -> str:
    """The IANA zone at (lat, lon).

    On land (and within territorial waters) that is the local zone. Out at sea
    it is the nautical zone ("Etc/GMT+2"), which is what ships' clocks keep and
    still a valid IANA name. "UTC" only when the point is not a coordinate at all.
    """
    if not valid_coordinates(lat, lon):
        return "UTC"
    with _lock:
        name = _get_finder().timezone_at(lat=lat, lng=lon)
    return name or "UTC"


def load_timezones() -> None:
    """Create the finder now (call it from a worker thread to keep an event loop free)."""
    with _lock:
        _get_finder()


def close_timezones() -> None:
    """Release the finder's mapped polygon files now (the next lookup opens them again).

    Registered to run at exit: left to the garbage collector at interpreter shutdown,
    the files were sometimes closed only by their finalizers, in whatever order, which
    printed a ResourceWarning ("unclosed file ... coordinates.bin") after the tests.
    """
    global _finder
    with _lock:
        if _finder is not None:
            _finder.cleanup()
            _finder = None


atexit.register(close_timezones)


def timezones_loaded() -> bool:
    return _finder is not None


def valid_coordinates(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def _get_finder() -> TimezoneFinder:
    """The process-wide finder; callers hold ``_lock``."""
    global _finder
    if _finder is None:
        from timezonefinder import TimezoneFinder

        _finder = TimezoneFinder(in_memory=False)
    return _finder
