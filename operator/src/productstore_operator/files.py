"""Writing what the operator's generators print (the CRD, chart defaults, rule files)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write then rename, so a failed run never leaves a half-written file behind and a
    reader (Prometheus reloading a rule file, say) sees the old file or the new one."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        tmp.chmod(0o644)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def emit(text: str, output: Path | None) -> None:
    """`text` to standard output, or to `output` atomically."""
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, text)
