"""Stage, frameworks: a smoke test of TensorFlow and PaddlePaddle when they are installed in this env.

Each runs in its own subprocess (two frameworks loading their own CUDA libraries into one process is a
problem of its own): import, build information, visible GPUs, a matmul with a known exact answer and one
training step whose loss must be finite and go down. A CUDA build that sees no GPU on a machine with an
NVIDIA driver fails, the way TensorFlow silently falls back to the CPU.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from typing import Any

from dlverify.env import nvidia_present
from dlverify.proto import FAIL, WARN, check, error_text, note, skipped

MARK = "@@dlverify "

TENSORFLOW = r'''
import json, sys
out = {"ok": False}
try:
    import tensorflow as tf
    out["version"] = tf.__version__
    info = dict(tf.sysconfig.get_build_info())
    out["cuda_build"] = bool(info.get("is_cuda_build"))
    out["build_cuda"] = info.get("cuda_version")
    out["build_cudnn"] = info.get("cudnn_version")
    out["gpus"] = len(tf.config.list_physical_devices("GPU"))
    a = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    b = tf.constant([[5.0, 6.0], [7.0, 8.0]])
    out["matmul"] = tf.matmul(a, b).numpy().tolist()
    w = tf.Variable([[0.5], [-0.5]])
    x = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y = tf.constant([[1.0], [2.0], [3.0]])
    opt = tf.keras.optimizers.SGD(0.01)
    losses = []
    for _ in range(2):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((tf.matmul(x, w) - y) ** 2)
        opt.apply_gradients([(tape.gradient(loss, w), w)])
        losses.append(float(loss.numpy()))
    out["losses"] = losses
    out["ok"] = True
except BaseException as exc:
    out["error"] = f"{type(exc).__name__}: {exc}"[:500]
print("@@dlverify " + json.dumps(out))
'''

PADDLE = r'''
import json, sys
out = {"ok": False}
try:
    import paddle
    out["version"] = paddle.__version__
    out["cuda_build"] = bool(paddle.device.is_compiled_with_cuda())
    out["build_cuda"] = paddle.version.cuda() if out["cuda_build"] else None
    out["build_cudnn"] = paddle.version.cudnn() if out["cuda_build"] else None
    out["gpus"] = paddle.device.cuda.device_count() if out["cuda_build"] else 0
    a = paddle.to_tensor([[1.0, 2.0], [3.0, 4.0]])
    b = paddle.to_tensor([[5.0, 6.0], [7.0, 8.0]])
    out["matmul"] = paddle.matmul(a, b).numpy().tolist()
    w = paddle.create_parameter([2, 1], "float32", default_initializer=paddle.nn.initializer.Assign([[0.5], [-0.5]]))
    x = paddle.to_tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y = paddle.to_tensor([[1.0], [2.0], [3.0]])
    opt = paddle.optimizer.SGD(0.01, parameters=[w])
    losses = []
    for _ in range(2):
        loss = ((paddle.matmul(x, w) - y) ** 2).mean()
        loss.backward()
        opt.step()
        opt.clear_grad()
        losses.append(float(loss.numpy()))
    out["losses"] = losses
    out["ok"] = True
except BaseException as exc:
    out["error"] = f"{type(exc).__name__}: {exc}"[:500]
print("@@dlverify " + json.dumps(out))
'''

FRAMEWORKS = {"tensorflow": TENSORFLOW, "paddle": PADDLE}
EXPECTED_MATMUL = [[19.0, 22.0], [43.0, 50.0]]


def _smoke(name: str, script: str, timeout: float) -> dict[str, Any]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_FORCE_GPU_ALLOW_GROWTH="true")
    try:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout,
                              env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:g} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"ok": False, "error": f"exit code {proc.returncode}: " + " | ".join(tail)}


def run(ctx: Any) -> dict[str, Any]:
    present = [name for name in FRAMEWORKS if importlib.util.find_spec(name) is not None]
    if not present:
        return skipped("verify.note.no_frameworks")
    checks: list[dict[str, Any]] = []
    details: dict[str, Any] = {}
    gpu_machine = nvidia_present()
    for name in present:
        try:
            res = _smoke(name, FRAMEWORKS[name], float(ctx.cfg.get("framework_timeout_s", 240)))
        except Exception as exc:
            res = {"ok": False, "error": error_text(exc)}
        details[name] = res
        version = res.get("version")
        if not res.get("ok"):
            checks.append(check(name, version, error=res.get("error") or "failed"))
            continue
        checks.append(check(name + ".matmul", version, status=None if res["matmul"] == EXPECTED_MATMUL else FAIL,
                            note=None if res["matmul"] == EXPECTED_MATMUL else note("verify.note.framework_matmul",
                                                                                     got=str(res["matmul"]))))
        losses = res.get("losses") or []
        learns = len(losses) == 2 and all(v == v for v in losses) and losses[1] < losses[0]
        checks.append(check(name + ".train_step", version, status=None if learns else FAIL,
                            note=None if learns else note("verify.note.framework_no_learning", losses=str(losses))))
        if gpu_machine and res.get("cuda_build") and not res.get("gpus"):
            checks.append(check(name + ".gpu", version, status=FAIL, note=note("verify.note.framework_no_gpu",
                                                                               framework=name)))
        elif gpu_machine and not res.get("cuda_build"):
            checks.append(check(name + ".gpu", version, status=WARN, note=note("verify.note.framework_cpu_build",
                                                                               framework=name)))
    return {"checks": checks, "details": details}
