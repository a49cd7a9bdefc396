"""The machine a run's numbers depend on: the CPU (model name, family, model, stepping, ISA
flags), the thread settings and the versions.

Two runs of one seed give the same bytes only on the same such machine: another CPU or thread
count sums floats in another order. ``gymkit regress`` keeps :func:`machine_signature` in each
golden file (``auto`` mode checks bytes only on an equal one); the benchmarks name the CPU with
:func:`cpu_label`.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

#: environment variables that change how floats are summed: thread counts, and TensorFlow's
#: oneDNN kernels (on by default only on some CPUs; ``TF_ENABLE_ONEDNN_OPTS`` forces them)
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS",
                    "TF_ENABLE_ONEDNN_OPTS")
#: the CPU flags that decide which kernels NumPy's BLAS, oneDNN and XLA pick (and so the order
#: in which they sum floats)
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
             "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "asimd", "sve")


def cpu_model() -> str:
    """The CPU model name (``/proc/cpuinfo``), or what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_identity() -> dict[str, Any]:
    """What tells two CPUs of one model name apart (an "AMD EPYC" may be a Zen 1 core with
    AVX2 or a Zen 4 core with AVX-512, whose kernels sum floats differently): the vendor,
    family, model and stepping from ``/proc/cpuinfo``, and which of :data:`ISA_FLAGS` it has."""
    fields = {"vendor_id": "vendor", "cpu family": "family", "model": "model", "stepping": "stepping"}
    out: dict[str, Any] = {}
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key in fields and fields[key] not in out:
                out[fields[key]] = value
            elif key in ("flags", "Features") and not flags:
                flags = set(value.split())
            elif not key and out:  # the first processor's block is enough
                break
    except OSError:
        pass
    out["isa"] = [flag for flag in ISA_FLAGS if flag in flags]
    return out


def cpu_label() -> str:
    """The CPU as benchmark tables name it: its model name, family, model and widest vector
    instructions, e.g. ``AMD EPYC (family 25 model 17, AVX-512)``."""
    ident = cpu_identity()
    isa = ident.get("isa", [])
    width = "AVX-512" if "avx512f" in isa else "AVX2" if "avx2" in isa else "AVX" if "avx" in isa else ""
    where = f"family {ident['family']} model {ident['model']}" if "family" in ident and "model" in ident else ""
    details = ", ".join(part for part in (where, width) if part)
    return f"{cpu_model()} ({details})" if details else cpu_model()


def machine_signature() -> dict[str, Any]:
    """What decides whether two runs of one seed can be bit-identical."""
    from gymkit.run_config import versions

    v = versions()
    return {"cpu": cpu_model(), "cpu_id": cpu_identity(), "cpus": os.cpu_count(), "machine": platform.machine(),
            "threads": {k: os.environ.get(k) for k in THREAD_VARIABLES},
            "versions": {k: v.get(k) for k in ("python", "gymkit", "gymnasium", "numpy", "ale-py",
                                               "tensorflow", "keras")}}
