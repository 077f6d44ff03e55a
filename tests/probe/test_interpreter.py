"""--python PATH: another interpreter described through a subprocess; bad paths are one-line usage errors."""

from __future__ import annotations

import os
import sys

import pytest

from dlsetup.errors import UsageError
from dlsetup.probe import interpreter, probe_machine


def test_missing_python_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as err:
        interpreter.foreign(str(tmp_path / "nope" / "python"))
    assert err.value.key == "probe.error.python_not_found" and err.value.exit_code == 2
    assert "no such file" in err.value.message()


def test_non_executable_is_a_usage_error(tmp_path):
    f = tmp_path / "python"
    f.write_text("print(1)")
    with pytest.raises(UsageError) as err:
        interpreter.foreign(str(f))
    assert err.value.key == "probe.error.python_not_executable"


def test_a_program_that_is_not_python_is_a_usage_error(tmp_path):
    f = tmp_path / "python"
    f.write_text("#!/bin/sh\necho hello\nexit 0\n")
    f.chmod(0o755)
    with pytest.raises(UsageError) as err:
        interpreter.foreign(str(f))
    assert err.value.key == "probe.error.python_failed"
    assert "printed no interpreter facts (first line: hello)" in err.value.message()


def test_a_program_that_fails_does_not_echo_the_probe_script(tmp_path):
    # /bin/ls-like: it treats `-c <program>` as file names and complains about them on stderr
    f = tmp_path / "python"
    f.write_text('#!/bin/sh\necho "ls: cannot access \'$2\': No such file or directory" >&2\nexit 2\n')
    f.chmod(0o755)
    with pytest.raises(UsageError) as err:
        interpreter.foreign(str(f))
    message = err.value.message()
    assert message.endswith("it exited with code 2") and "\n" not in message


def test_a_python_that_hangs_is_a_usage_error(tmp_path):
    f = tmp_path / "python"
    f.write_text("#!/bin/sh\nexec sleep 60\n")
    f.chmod(0o755)
    with pytest.raises(UsageError) as err:
        interpreter.foreign(str(f), timeout=1)
    assert "no answer in 1 s" in err.value.message()


def test_real_foreign_interpreter(tmp_path):
    interp = interpreter.foreign(sys.executable)
    assert interp.foreign and interp.info.version.startswith(f"{sys.version_info.major}.{sys.version_info.minor}")
    assert interp.info.prefix == sys.prefix
    assert any(p.endswith("site-packages") for p in interp.site_dirs)


def test_environment_directory_is_accepted():
    interp = interpreter.foreign(sys.prefix)
    assert os.path.samefile(os.path.dirname(interp.info.executable), os.path.dirname(sys.executable))


def test_probe_machine_with_bad_python_raises_the_usage_error(tmp_path):
    with pytest.raises(UsageError):
        probe_machine(python=str(tmp_path / "missing"), parts={"frameworks"})


def test_probe_machine_with_python_reads_that_interpreter():
    snap = probe_machine(python=sys.executable, parts={"tooling", "frameworks"})
    assert snap.tooling.python.prefix == sys.prefix
    assert snap.frameworks.python == snap.tooling.python.executable


def test_active_env_other_than_ours_is_preferred(tmp_path, monkeypatch):
    env = {"VIRTUAL_ENV": sys.prefix}
    assert interpreter.active_env_python(env) is None  # the env dlsetup runs in
    assert interpreter.active_env_python({"VIRTUAL_ENV": str(tmp_path / "gone")}) is None
    other = tmp_path / "venv"
    (other / "bin").mkdir(parents=True)
    py = other / "bin" / "python"
    py.symlink_to(sys.executable)
    assert interpreter.active_env_python({"VIRTUAL_ENV": str(other)}) == str(py)
