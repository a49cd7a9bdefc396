"""``python -m gymkit.train ...``: the same as ``gymkit train ...``."""

from __future__ import annotations

import sys

from gymkit.cli import main


def run(argv: list[str] | None = None) -> int:
    return main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(run())
