"""Output that never crashes: every command, redirected into a GBK (Chinese Windows, cp936) or cp1252
(Western Windows) or ASCII stream, exits normally and writes its whole output.

Python writes redirected output in the ANSI code page on Windows
(https://docs.python.org/3/library/sys.html#sys.stdout); ``PYTHONIOENCODING`` puts the same codec on
this Linux box's pipes, which is the condition the defect needs (a codec that lacks ✓ • →).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dlsetup import output

SNAPS = Path(__file__).resolve().parent.parent / "fixtures" / "snapshots"

COMMANDS = [
    ("doctor",),
    ("--lang", "zh", "doctor"),
    ("doctor", "--snapshot", str(SNAPS / "rtx4090-torch-cpu.json")),
    ("--lang", "zh", "doctor", "--snapshot", str(SNAPS / "gtx1080ti-r590.json")),
    ("resolve", "torch", "--gpu-cc", "8.6", "--driver", "546.33", "--os", "windows", "--python", "3.12"),
    ("--lang", "zh", "resolve", "torch", "onnxruntime", "--gpu-cc", "8.6", "--driver", "546.33", "--python", "3.12"),
    ("mirror", "list"),
    ("--lang", "zh", "mirror", "list"),
    ("mirror", "status"),
    ("env", "list"),
    ("--lang", "zh", "--help"),
    ("--lang", "zh", "verify", "--help"),
    ("--lang", "zh", "doctorr"),
]


def _run(args, encoding):
    env = dict(os.environ, PYTHONIOENCODING=encoding)
    return subprocess.run([sys.executable, "-m", "dlsetup", *args], capture_output=True, env=env, timeout=120)


@pytest.mark.parametrize("encoding", ["gbk", "cp1252"])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a)[:60])
def test_every_command_survives_a_legacy_code_page(args, encoding):
    proc = _run(args, encoding)
    err = proc.stderr.decode(encoding, "replace")
    assert "internal error" not in err and "Traceback" not in err, err
    assert proc.returncode in (0, 1, 2), (proc.returncode, err)
    text = proc.stdout.decode(encoding)  # strictly decodable: the stream's own encoding, nothing torn
    if args[-1] not in ("doctorr",):
        assert text.strip(), err
    if "doctor" in args and "--help" not in args:
        last = text.rstrip().splitlines()[-1]
        # the summary line ("0 error(s), 1 warning(s), 1 note(s) · 37 checks · 87 ms"): the file is complete
        assert re.search(r"0?\d+\D+\d+\D+\d+\D+\d+\D+\d+", last), last
    if encoding == "gbk" and args[:2] == ("--lang", "zh"):
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text + err)  # Chinese survives in GBK


def test_symbols_fall_back_to_ascii_in_a_code_page_without_them():
    proc = _run(("doctor", "--snapshot", str(SNAPS / "rtx4090-torch-cpu.json")), "ascii")
    text = proc.stdout.decode("ascii")  # strictly ASCII
    assert proc.returncode == 1
    assert "\u2713" not in proc.stdout.decode("ascii") and "ok no problems found" in text  # ✓ became "ok"
    assert "error(s)" in text.rstrip().splitlines()[-1]  # every line came through


def test_json_stays_utf8_whatever_the_stream_encoding():
    proc = _run(("--lang", "zh", "doctor", "--json"), "cp1252")
    doc = json.loads(proc.stdout.decode("utf-8"))
    assert doc["schema_version"] and any("\u4e00" <= ch <= "\u9fff" for ch in json.dumps(doc, ensure_ascii=False))


def test_fallback_handler_maps_the_catalog_symbols():
    output._register()
    text = "✓ ok • item → next ≥ 525 … “q” ：（全角）"
    assert text.encode("ascii", output.ERRORS).decode() == 'ok ok - item -> next >= 525 ... "q" :(??)'
    assert "✓".encode("gbk", output.ERRORS) == b"ok"
    assert "张三".encode("gbk", output.ERRORS).decode("gbk") == "张三"


def test_setup_streams_leaves_utf8_alone_and_fixes_the_rest(tmp_path):
    import io

    utf = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    gbk = io.TextIOWrapper(io.BytesIO(), encoding="gbk")
    output.setup_streams((utf, gbk))
    assert utf.errors == "strict" and gbk.errors == output.ERRORS
    gbk.write("✓ 完成 → 下一步\n")
    gbk.flush()
    assert gbk.buffer.getvalue().decode("gbk") == "ok 完成 → 下一步\n"  # GBK has →, not ✓
