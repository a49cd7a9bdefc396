"""``python -m gymkit.evaluate RUN_DIR ...``: the same as ``gymkit evaluate RUN_DIR ...``."""

from __future__ import annotations

import sys

from gymkit.cli import main


def run(argv: list[str] | None = None) -> int:
    return main(["evaluate", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(run())
