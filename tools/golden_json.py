"""Writing the JSON golden files of the small fixture scripts (tools/gen_golden_*.py)."""

from __future__ import annotations

import json
import os


def write_json(path: str, data: dict) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file, then a rename), indented, with
    a final newline; prints where it went."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    print("wrote", path)
