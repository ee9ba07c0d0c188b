"""Sign-in rules: how many wrong passwords buy how long a wait, and how long a signed-in session lasts.

The settings hold them (`[sign_in]`), the store enforces the throttle, the dashboard the session's age.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SignInRules:
    """Throttling of password guesses per user name and per client address, and session lifetimes."""

    # Wrong passwords a user name may get in a row without waiting (a typo or two).
    free_failures: int = 2
    # After that, each further attempt waits backoff_seconds, doubling per failure, up to backoff_max_seconds.
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 30.0
    # Wrong passwords within failure_window_seconds that lock a user name, or an address, for lockout_seconds.
    max_user_failures: int = 6
    max_address_failures: int = 30
    # An address (many users behind one gateway) gets this many wrong passwords before its waits begin.
    address_free_failures: int = 10
    failure_window_seconds: float = 900.0
    lockout_seconds: float = 900.0
    # A signed-in session ends after this long without a click, and after this long in all.
    idle_minutes: float = 30.0
    session_hours: float = 12.0

    def backoff(self, failures: int, free: int | None = None) -> float:
        """Seconds to wait after `failures` wrong passwords in a row before the next attempt is heard (`free`:
        how many come without a wait; default free_failures)."""
        extra = failures - (self.free_failures if free is None else free)
        if extra <= 0:
            return 0.0
        return min(self.backoff_seconds * 2 ** (extra - 1), self.backoff_max_seconds)

    def check(self) -> None:
        """ValueError naming the first setting out of range (counts and times must be positive)."""
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"sign_in.{name}: {value!r} is not a number")
            if value < 0 or (value == 0 and name not in ("free_failures", "address_free_failures")):
                raise ValueError(f"sign_in.{name}: {value!r} must be {'≥ 0' if 'free' in name else '> 0'}")
