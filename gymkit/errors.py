"""The errors gymkit raises for bad input.

Every error a user can cause by what they typed derives from :class:`GymkitError`.
The command line prints its message as one line (no traceback) and exits with code 2,
so each message names the problem *and* the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GymkitError(Exception):
    """Bad input: the message names the problem and how to fix it."""


class ConfigError(GymkitError):
    """A configuration key or value that cannot be used."""


class RegistryError(GymkitError):
    """An agent name or import path that does not resolve."""


class SpaceError(GymkitError):
    """An agent that cannot handle the env's observation or action space."""


class RunDirError(GymkitError):
    """A run directory that is missing, already used, or unreadable."""


class EnvError(GymkitError):
    """An env id that Gymnasium does not know, or an env missing what an agent needs."""


class PluginError(GymkitError):
    """An agent (a plugin or a built-in one) that raised, or broke the Agent contract.

    The message names the agent class, the method, the step and what went wrong; the
    original exception is the ``__cause__`` (``--debug`` prints the whole traceback).
    """


def closest(word: str, choices: Iterable[str]) -> str | None:
    """Return the choice closest to ``word`` (for "did you mean ...?"), or None."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A " (did you mean 'x'?)" suffix, or "" when nothing is close."""
    match = closest(word, choices)
    return f" (did you mean '{match}'?)" if match else ""
