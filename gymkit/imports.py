"""``module:name`` import paths, checked before anything is imported.

Agents, wrappers, encoders and hard-coded policies may be named by import path, and those
paths can come from files (``config.yaml``, ``agent.json``). A path is resolved only when it
is two dotted Python identifiers (never a file path: no ``/``, no ``..``, no ``.py``), and
never from Python's standard library, which holds no agent, wrapper, encoder or policy but
does hold ``os:system`` (``__main__``, the program already running, is allowed). What is imported is then checked by the caller (an ``Agent``
subclass, a ``gym.Wrapper`` subclass, a Python function).
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

from gymkit.errors import GymkitError

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def check_import_path(path: Any, what: str, error: type[GymkitError]) -> tuple[str, str]:
    """``(module, attribute)`` of a well-formed, non-stdlib ``module:name``, else ``error``."""
    if not isinstance(path, str):
        raise error(f"{what} {path!r} is not a 'module:name' string: write it as module:name")
    module, sep, attr = path.partition(":")
    if not sep or not _DOTTED.match(module) or not _DOTTED.match(attr):
        raise error(f"{what} '{path}' is not a 'module:name' import path (dotted Python names; gymkit "
                    "never loads code from a file path): write it as package.module:Name")
    top = module.split(".")[0]
    if top in sys.stdlib_module_names:
        raise error(f"{what} '{path}' names Python's standard library ({top}), which holds no gymkit "
                    "code: give a module:name of an installed package")
    return module, attr


def import_path(path: str, what: str, error: type[GymkitError]) -> Any:
    """Import ``module:name`` after :func:`check_import_path`; ``error`` names what failed."""
    module_name, attr = check_import_path(path, what, error)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise error(f"cannot import module '{module_name}' for {what} '{path}' ({exc}): "
                    "check the spelling and that its package is installed") from None
    obj: Any = module
    try:
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise error(f"module '{module_name}' has no attribute '{attr}': check the name after ':' "
                    f"in '{path}'") from None
    return obj
