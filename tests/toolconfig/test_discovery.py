"""Where each tool looks for its files, per OS (the OS is a parameter, so a snapshot's can be used).

Expected lists come from each tool's published source: pip ``configuration.py`` + ``utils/appdirs.py``
(pip 23.2), conda ``base/constants.py`` SEARCH_PATH, uv docs ``concepts/configuration-files.md``, pixi docs
``reference/pixi_configuration.md``.
"""

from __future__ import annotations

from pathlib import Path, PureWindowsPath

from dlsetup.toolconfig import conda, pip, pixi, uv

WIN = {"USERPROFILE": r"C:\Users\li", "HOME": r"C:\Users\li", "APPDATA": r"C:\Users\li\AppData\Roaming",
       "PROGRAMDATA": r"C:\ProgramData"}


def norm(paths) -> list[str]:
    return [str(PureWindowsPath(str(p))).lower() for p in paths]


def test_pip_on_windows(tmp_path):
    files = pip.files(WIN, prefix=r"C:\Python312", system="windows")
    assert [k for k, _ in files] == ["global", "user", "user", "site"]
    assert norm(p for _, p in files) == [
        r"c:\programdata\pip\pip.ini", r"c:\users\li\pip\pip.ini", r"c:\users\li\appdata\roaming\pip\pip.ini",
        r"c:\python312\pip.ini"]
    assert norm([pip.user_file(WIN, system="windows")]) == [r"c:\users\li\appdata\roaming\pip\pip.ini"]


def test_pip_on_linux_and_macos(tmp_path):
    env = {"HOME": "/home/li", "XDG_CONFIG_DIRS": "/etc/xdg:/opt/xdg", "XDG_CONFIG_HOME": "/home/li/.config"}
    assert [str(p) for _, p in pip.files(env, prefix="/venv", system="linux")] == [
        "/etc/xdg/pip/pip.conf", "/opt/xdg/pip/pip.conf", "/etc/pip.conf", "/home/li/.pip/pip.conf",
        "/home/li/.config/pip/pip.conf", "/venv/pip.conf"]
    mac = [str(p) for _, p in pip.files({"HOME": str(tmp_path)}, prefix="/venv", system="macos")]
    assert mac[0] == "/Library/Application Support/pip/pip.conf"
    assert mac[2] == str(tmp_path / ".config/pip/pip.conf")  # ~/Library/... only when that directory exists
    (tmp_path / "Library/Application Support/pip").mkdir(parents=True)
    assert pip.user_file({"HOME": str(tmp_path)}, system="macos") == tmp_path / "Library/Application Support/pip/pip.conf"
    # PIP_CONFIG_FILE naming an existing file hides the user files; os.devnull disables every file
    cfg = tmp_path / "p.conf"
    cfg.write_text("")
    assert [k for k, _ in pip.files({**env, "PIP_CONFIG_FILE": str(cfg)}, prefix="/v", system="linux")] == [
        "global", "global", "global", "site", "env"]
    assert pip.files({"PIP_CONFIG_FILE": "/dev/null"}, system="linux") == []


def test_conda_search_path_per_os():
    env = {"HOME": "/home/li", "CONDA_PREFIX": "/envs/dl", "CONDARC": "/tmp/rc"}
    linux = [str(p) for p in conda.search_path(env, system="linux")]
    assert linux[:6] == ["/etc/conda/.condarc", "/etc/conda/condarc", "/etc/conda/condarc.d",
                         "/var/lib/conda/.condarc", "/var/lib/conda/condarc", "/var/lib/conda/condarc.d"]
    assert linux[-5:] == ["/home/li/.condarc", "/envs/dl/.condarc", "/envs/dl/condarc", "/envs/dl/condarc.d", "/tmp/rc"]
    win = norm(conda.search_path(WIN, system="windows"))
    assert win[:3] == [r"c:\programdata\conda\.condarc", r"c:\programdata\conda\condarc", r"c:\programdata\conda\condarc.d"]
    assert r"c:\users\li\.condarc" in win
    assert conda.default_channels("windows")[-1].endswith("/pkgs/msys2") and len(conda.default_channels("linux")) == 2


def test_uv_and_pixi_per_os(tmp_path):
    assert norm([uv.user_file(WIN, system="windows")]) == [r"c:\users\li\appdata\roaming\uv\uv.toml"]
    assert uv.user_file({"HOME": "/home/li"}, system="macos") == Path("/home/li/.config/uv/uv.toml")
    assert norm(pixi.files(WIN, tmp_path, system="windows")) == [
        r"c:\programdata\pixi\config.toml", r"c:\users\li\appdata\roaming\pixi\config.toml",
        r"c:\users\li\.pixi\config.toml"]
    mac = [str(p) for p in pixi.files({"HOME": "/Users/li"}, tmp_path, system="macos")]
    assert mac == ["/etc/pixi/config.toml", "/Users/li/.config/pixi/config.toml",
                   "/Users/li/Library/Application Support/pixi/config.toml", "/Users/li/.pixi/config.toml"]


def test_hf_hub_cache_follows_huggingface_hub_constants():
    from dlsetup.toolconfig import hf

    assert hf.hub_cache({"HOME": "/home/li"}) == Path("/home/li/.cache/huggingface/hub")
    assert hf.hub_cache({"HOME": "/h", "XDG_CACHE_HOME": "/c"}) == Path("/c/huggingface/hub")
    assert hf.hub_cache({"HOME": "/h", "HF_HOME": "/data/hf"}) == Path("/data/hf/hub")
    assert hf.hub_cache({"HOME": "/h", "HF_HOME": "/data/hf", "HF_HUB_CACHE": "/fast/hub"}) == Path("/fast/hub")
