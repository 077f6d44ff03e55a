"""``--deep``: import each installed framework in a child interpreter under a timeout.

The child prints one ``DLSETUP-DEEP {json}`` line per module as soon as it has it, so a crash in
torchvision after torch answered still keeps torch's facts. A hang, a crash (a signal), or an
ImportError is data in :class:`DeepImport`, never an exception here.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping

from dlsetup.probe._run import run
from dlsetup.probe.model import DeepImport, Framework

MARK = "DLSETUP-DEEP "

CHILD = r'''
import json, sys, time, warnings
MARK = "DLSETUP-DEEP "
def emit(name, d):
    sys.stdout.write(MARK + json.dumps(dict(d, name=name), default=str) + "\n"); sys.stdout.flush()
def err(e):
    return (type(e).__name__ + ": " + str(e))[:800]
def wlist(w):
    return [(x.category.__name__ + ": " + str(x.message))[:500] for x in w]
def attempt(d, key, fn):
    try:
        d[key] = fn()
    except BaseException as e:
        d.setdefault("details", {})[key + "_error"] = err(e)

def do_torch():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = time.perf_counter()
        try:
            import torch
        except BaseException as e:
            emit("torch", {"ok": False, "error": err(e), "warnings": wlist(w), "duration_s": time.perf_counter() - t})
            return
        d = {"ok": True, "details": {"version": torch.__version__, "file": torch.__file__,
                                     "hip": getattr(torch.version, "hip", None)}}
        d["cuda_version"] = torch.version.cuda
        attempt(d, "cuda_available", lambda: bool(torch.cuda.is_available()))
        attempt(d, "device_count", lambda: int(torch.cuda.device_count()))
        attempt(d, "arch_list", lambda: list(torch.cuda.get_arch_list()))
        attempt(d, "cudnn_version", lambda: torch.backends.cudnn.version())
        devs = []
        for i in range(d.get("device_count") or 0):
            try:
                cap = torch.cuda.get_device_capability(i)
                devs.append({"name": torch.cuda.get_device_name(i), "capability": "%d.%d" % cap})
            except BaseException as e:
                devs.append({"error": err(e)})
        d["details"]["devices"] = devs
        try:
            d["details"]["mps_built"] = bool(torch.backends.mps.is_built())
            d["details"]["mps_available"] = bool(torch.backends.mps.is_available())
        except BaseException:
            pass
        d["duration_s"] = time.perf_counter() - t
        d["warnings"] = wlist(w)
    emit("torch", d)
    for sub in ("torchvision", "torchaudio"):
        if sub in sys.argv[2:]:
            generic(sub)

def do_tensorflow():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = time.perf_counter()
        try:
            import tensorflow as tf
        except BaseException as e:
            emit("tensorflow", {"ok": False, "error": err(e), "warnings": wlist(w), "duration_s": time.perf_counter() - t})
            return
        d = {"ok": True, "details": {"version": tf.__version__}}
        try:
            info = dict(tf.sysconfig.get_build_info())
            d["details"]["build_info"] = {k: v for k, v in info.items() if isinstance(v, (str, int, float, bool, list))}
            d["cuda_version"] = info.get("cuda_version")
        except BaseException as e:
            d["details"]["build_info_error"] = err(e)
        try:
            gpus = tf.config.list_physical_devices("GPU")
            d["details"]["gpus"] = [g.name for g in gpus]
            d["device_count"] = len(gpus)
            d["cuda_available"] = len(gpus) > 0
        except BaseException as e:
            d["details"]["gpus_error"] = err(e)
        d["duration_s"] = time.perf_counter() - t
        d["warnings"] = wlist(w)
    emit("tensorflow", d)

def do_jax():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = time.perf_counter()
        try:
            import jax
        except BaseException as e:
            emit("jax", {"ok": False, "error": err(e), "warnings": wlist(w), "duration_s": time.perf_counter() - t})
            return
        d = {"ok": True, "details": {"version": jax.__version__}}
        try:
            devs = jax.devices()
            d["details"]["devices"] = [str(x) for x in devs]
            d["details"]["backend"] = jax.default_backend()
            gpus = [x for x in devs if x.platform == "gpu"]
            d["device_count"] = len(gpus)
            d["cuda_available"] = len(gpus) > 0
        except BaseException as e:
            d["details"]["devices_error"] = err(e)
        d["duration_s"] = time.perf_counter() - t
        d["warnings"] = wlist(w)
    emit("jax", d)

def do_paddle():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = time.perf_counter()
        try:
            import paddle
        except BaseException as e:
            emit("paddlepaddle", {"ok": False, "error": err(e), "warnings": wlist(w), "duration_s": time.perf_counter() - t})
            return
        d = {"ok": True, "details": {"version": paddle.__version__}}
        attempt(d, "cuda_available", lambda: bool(paddle.device.is_compiled_with_cuda())
                and paddle.device.cuda.device_count() > 0)
        attempt(d, "device_count", lambda: int(paddle.device.cuda.device_count()))
        attempt(d, "cuda_version", lambda: paddle.version.cuda())
        d["duration_s"] = time.perf_counter() - t
        d["warnings"] = wlist(w)
    emit("paddlepaddle", d)

def do_onnxruntime():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = time.perf_counter()
        try:
            import onnxruntime as ort
        except BaseException as e:
            emit("onnxruntime", {"ok": False, "error": err(e), "warnings": wlist(w), "duration_s": time.perf_counter() - t})
            return
        d = {"ok": True, "details": {"version": ort.__version__}}
        try:
            providers = list(ort.get_available_providers())
            d["details"]["providers"] = providers
            d["cuda_available"] = "CUDAExecutionProvider" in providers
            d["details"]["device"] = ort.get_device()
        except BaseException as e:
            d["details"]["providers_error"] = err(e)
        d["duration_s"] = time.perf_counter() - t
        d["warnings"] = wlist(w)
    emit("onnxruntime", d)

def generic(name, module=None):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = time.perf_counter()
        try:
            mod = __import__(module or name)
        except BaseException as e:
            emit(name, {"ok": False, "error": err(e), "warnings": wlist(w), "duration_s": time.perf_counter() - t})
            return
        emit(name, {"ok": True, "details": {"version": str(getattr(mod, "__version__", ""))},
                    "duration_s": time.perf_counter() - t, "warnings": wlist(w)})

what = sys.argv[1]
special = {"torch": do_torch, "tensorflow": do_tensorflow, "jax": do_jax, "paddlepaddle": do_paddle,
           "onnxruntime": do_onnxruntime}
if what in special:
    special[what]()
else:
    generic(what, sys.argv[2] if len(sys.argv) > 2 else None)
'''

# Frameworks imported together with another (one torch import serves torchvision and torchaudio).
RIDES_WITH = {"torchvision": "torch", "torchaudio": "torch"}


def parse_child(stdout: str) -> dict[str, dict]:
    out = {}
    for line in stdout.splitlines():
        if line.startswith(MARK):
            try:
                data = json.loads(line[len(MARK):])
            except ValueError:
                continue
            if isinstance(data, dict) and isinstance(data.get("name"), str):
                out[data["name"]] = data
    return out


def _to_deep(data: dict) -> DeepImport:
    arch = data.get("arch_list")
    cudnn = data.get("cudnn_version")
    cuda = data.get("cuda_version")
    return DeepImport(
        ok=bool(data.get("ok")), error=data.get("error"), duration_s=round(float(data.get("duration_s") or 0.0), 3),
        cuda_available=data.get("cuda_available") if isinstance(data.get("cuda_available"), bool) else None,
        device_count=data.get("device_count") if isinstance(data.get("device_count"), int) else None,
        cuda_version=str(cuda) if cuda else None,
        arch_list=[str(a) for a in arch] if isinstance(arch, list) else [],
        cudnn_version=cudnn if isinstance(cudnn, int) else None,
        warnings=[str(w) for w in data.get("warnings", [])][:50],
        details=data.get("details") if isinstance(data.get("details"), dict) else {},
    )


def _stderr_warnings(stderr: str) -> list[str]:
    """Warning lines a framework printed on stderr (C++ side, or before Python's warnings filter)."""
    keep = []
    for line in stderr.splitlines():
        s = line.strip()
        if s and any(k in s.lower() for k in ("warn", "error", "could not", "cannot", "unable", "not found")):
            keep.append(s[:500])
    return keep[-20:]


def import_group(python: str, lead: str, module: str, riders: list[str], timeout: float,
                 environ: Mapping[str, str] | None = None) -> dict[str, DeepImport]:
    """Import ``lead`` (and its riders) in one child; every name gets a DeepImport."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("PYTHONWARNINGS", "default")
    start = time.perf_counter()
    args = [python, "-c", CHILD, lead] + (riders if lead == "torch" else ([module] if module != lead else []))
    proc = run(args, timeout=timeout, env=env)
    elapsed = round(time.perf_counter() - start, 3)
    found = parse_child(proc.stdout)
    printed = _stderr_warnings(proc.stderr)
    out: dict[str, DeepImport] = {}
    for name in [lead, *riders]:
        if name in found:
            deep = _to_deep(found[name])
            deep.warnings += [w for w in printed if w not in deep.warnings]
        elif name != lead and not found.get(lead, {}).get("ok"):
            # torch itself failed, crashed or hung, so torchvision was never tried: not a second, separate failure
            deep = DeepImport(ok=False, error=f"not imported: {lead} failed to import", duration_s=0.0,
                              details={"skipped_because": lead})
        elif proc.timed_out:
            deep = DeepImport(ok=False, timed_out=True, error=f"import did not finish in {timeout:g} s",
                              duration_s=elapsed, warnings=printed)
        else:
            if proc.returncode is not None and proc.returncode < 0:
                why = f"the interpreter died with signal {-proc.returncode} while importing {name}"
            elif proc.returncode is not None and proc.returncode != 0:
                why = f"the interpreter exited with code {proc.returncode} while importing {name}"
            else:
                why = proc.error or f"no answer about {name}"
            tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-3:]
            deep = DeepImport(ok=False, error=(why + (": " + " | ".join(tail) if tail else ""))[:800],
                              duration_s=elapsed, warnings=printed)
        out[name] = deep
    return out


def deep_import(frameworks: list[Framework], python: str, timeout: float = 120.0,
                environ: Mapping[str, str] | None = None) -> None:
    """Fill ``Framework.deep`` for every framework that has an import module (retired ones are skipped)."""
    from dlsetup.probe.frameworks import catalog

    modules = {fw["name"]: fw.get("import") for fw in catalog()["framework"]}
    present = {fw.name for fw in frameworks}
    groups: list[tuple[str, str, list[str]]] = []
    for fw in frameworks:
        if fw.retired or not modules.get(fw.name) or fw.name in RIDES_WITH and RIDES_WITH[fw.name] in present:
            continue
        if any(g[0] == fw.name for g in groups):
            continue
        riders = [r for r, lead in RIDES_WITH.items() if lead == fw.name and r in present]
        groups.append((fw.name, modules[fw.name], riders))
    if not groups:
        return
    from concurrent.futures import ThreadPoolExecutor  # deep mode only: two imports at a time on small boxes

    results: dict[str, DeepImport] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for res in pool.map(lambda g: import_group(python, g[0], g[1], g[2], timeout, environ), groups):
            results.update(res)
    for fw in frameworks:
        if fw.name in results:
            fw.deep = results[fw.name]
