"""The one write helper against targets it must not clobber: devices, FIFOs, sockets, symlinks, another
user's file, a full disk, and the temp files a killed run leaves. All in temp dirs."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dlsetup.util.atomic import (
    TEMP_MARK,
    DiskFull,
    NotRegularFile,
    clean_stale_temps,
    read_regular_bytes,
    write_bytes_atomic,
)


@pytest.fixture
def wd(tmp_path):
    """A folder of its own (tmp_path also holds the isolated HOME)."""
    d = tmp_path / "w"
    d.mkdir()
    return d


def _mknod_null(path: Path) -> Path:
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a /dev/null twin
    except (PermissionError, AttributeError, OSError) as exc:
        pytest.skip(f"mknod not permitted here: {exc}")
    return path


def test_a_device_node_is_refused_and_stays(wd):
    dev = _mknod_null(wd / "condarc-dev")
    link = wd / ".condarc"
    link.symlink_to(dev)
    for target in (dev, link):
        with pytest.raises(NotRegularFile) as info:
            write_bytes_atomic(target, b"channels: [x]\n")
        assert "character device" in str(info.value)
    assert stat.S_ISCHR(os.lstat(dev).st_mode) and link.is_symlink()
    assert sorted(p.name for p in wd.iterdir()) == [".condarc", "condarc-dev"]


def test_a_fifo_and_a_socket_are_refused(wd):
    fifo = wd / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile, match="FIFO"):
        write_bytes_atomic(fifo, b"x")
    with pytest.raises(NotRegularFile, match="FIFO"):
        read_regular_bytes(fifo)  # and reading it never blocks
    sock_path = wd / "s"
    with contextlib.closing(socket.socket(socket.AF_UNIX)) as s:
        s.bind(str(sock_path))
        with pytest.raises(NotRegularFile, match="socket"):
            write_bytes_atomic(sock_path, b"x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_symlink_is_written_through_and_kept(wd):
    real = wd / "dotfiles" / "pip.conf"
    real.parent.mkdir()
    real.write_text("[global]\n")
    os.chmod(real, 0o640)
    link = wd / "pip.conf"
    link.symlink_to(real)
    write_bytes_atomic(link, b"[global]\nindex-url = https://m.example/simple\n")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().endswith("m.example/simple\n")
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in real.parent.iterdir()) == ["pip.conf"]  # no temp file left


def test_owner_group_and_mode_of_another_users_file_are_kept(wd):
    if os.geteuid() != 0:
        pytest.skip("chown to another uid needs root")
    p = wd / ".condarc"
    p.write_text("channels: [defaults]\n")
    os.chown(p, 1234, 5678)
    os.chmod(p, 0o664)
    write_bytes_atomic(p, b"channels: [conda-forge]\n")
    st = p.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o664)


def test_save_snapshot_through_a_link_to_a_fifo_is_refused(cli, wd):
    fifo = wd / "fifo"
    os.mkfifo(fifo)
    link = wd / "me.json"
    link.symlink_to(fifo)
    r = cli("doctor", "--save-snapshot", str(link))
    assert r.code == 2, r
    assert "FIFO" in r.stderr and r.stderr.count("\n") == 1
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and link.is_symlink()
    assert sorted(p.name for p in wd.iterdir()) == ["fifo", "me.json"]


def test_temp_files_of_a_killed_run_are_cleaned(wd):
    target = wd / "pip.conf"
    target.write_text("old\n")
    # a writer that is SIGKILLed after creating its temp file (the pid in the name is then gone)
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        import dlsetup.util.atomic as a
        real_fsync = os.fsync
        def stop(fd):
            os.kill(os.getpid(), 9)
        os.fsync = stop
        a.write_bytes_atomic({str(target)!r}, b"new\\n" * 1000)
    """)
    proc = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    left = [p for p in wd.iterdir() if TEMP_MARK in p.name]
    assert len(left) == 1 and left[0].name.startswith(".pip.conf" + TEMP_MARK)
    assert target.read_text() == "old\n"
    # a live process's temp file is left alone; the dead one's goes on the next write
    live = wd / f".pip.conf{TEMP_MARK}{os.getppid()}-abcd"
    live.write_text("busy")
    write_bytes_atomic(target, b"newer\n")
    assert sorted(p.name for p in wd.iterdir()) == sorted(["pip.conf", live.name])
    assert clean_stale_temps(wd) == []


@pytest.fixture
def tiny_tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_disk_full_leaves_the_file_and_says_so_in_one_line(tiny_tmpfs):
    p = tiny_tmpfs / "pip.conf"
    p.write_text("[global]\nindex-url = https://old.example/simple\n")
    with pytest.raises(DiskFull) as info:
        write_bytes_atomic(p, b"x" * (256 * 1024))
    assert info.value.errno == errno.ENOSPC
    assert "\n" not in info.value.message() and "no space left" in info.value.message()
    assert p.read_text().startswith("[global]\nindex-url = https://old.example")
    assert [q.name for q in tiny_tmpfs.iterdir()] == ["pip.conf"]


def test_save_snapshot_on_a_full_disk_is_a_one_line_error(cli, tiny_tmpfs):
    filler = tiny_tmpfs / "filler"
    with contextlib.suppress(OSError), open(filler, "wb") as fh:
        fh.write(b"\0" * (64 * 1024))
    r = cli("doctor", "--save-snapshot", str(tiny_tmpfs / "me.json"))
    assert r.code == 2, r
    assert r.stderr.count("\n") == 1 and "internal error" not in r.stderr
    assert not (tiny_tmpfs / "me.json").exists()
    assert [q.name for q in tiny_tmpfs.iterdir()] == ["filler"]


@pytest.mark.parametrize("state_on_full_disk", [False, True], ids=["config-disk-full", "config-and-journal-disk-full"])
def test_mirror_on_a_full_disk_changes_nothing_and_says_so_in_one_line(cli, tiny_tmpfs, monkeypatch,
                                                                       state_on_full_disk):
    conf = tiny_tmpfs / "config"
    (conf / "pip").mkdir(parents=True)
    pip_conf = conf / "pip" / "pip.conf"
    pip_conf.write_text("[global]\ntimeout = 60\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(conf))
    if state_on_full_disk:
        monkeypatch.setenv("DLSETUP_STATE_DIR", str(tiny_tmpfs / "state"))
    with contextlib.suppress(OSError), open(tiny_tmpfs / "filler", "wb") as fh:
        fh.write(b"\0" * (64 * 1024))
    r = cli("mirror", "tuna", "--tools", "pip", "--offline")
    assert r.code in (1, 2), r
    assert r.stderr.count("\n") == 1 and "internal error" not in r.stderr, r
    assert "space" in r.stderr
    assert pip_conf.read_text() == "[global]\ntimeout = 60\n"
    assert not [p for p in tiny_tmpfs.rglob("*") if TEMP_MARK in p.name]
