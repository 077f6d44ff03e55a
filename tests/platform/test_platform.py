"""The platform layer's answers for a Windows machine read on Linux, and for Linux itself."""

from __future__ import annotations

from types import SimpleNamespace

from dlsetup.platform import Platform, current, for_os, for_snapshot, live_os

# The variables a Windows 11 user session has (values as `Get-ChildItem Env:` prints them for a user
# named 张三; the layout is documented at learn.microsoft.com/windows/win32/shell/knownfolderid).
WIN_ENV = {
    "USERPROFILE": "C:\\Users\\张三",
    "APPDATA": "C:\\Users\\张三\\AppData\\Roaming",
    "LOCALAPPDATA": "C:\\Users\\张三\\AppData\\Local",
    "ProgramData": "C:\\ProgramData",
    "HOME": "/c/Users/张三",  # set by Git Bash; Python, pip and conda ignore it
}


def test_windows_paths_compare_case_insensitively_with_ntpath():
    win = for_os("windows", WIN_ENV)
    env = r"C:\Users\u\venvs\dl"
    assert win.is_within(r"c:\users\U\venvs\dl\Lib\site-packages\torch", env)
    assert win.is_within("C:/Users/u/venvs/dl/Lib", env)  # forward slashes are separators too
    assert not win.is_within(r"C:\Users\u\venvs\dl2\Lib", env)
    assert win.same_path(r"C:\Python312\python.exe", r"c:\python312\PYTHON.EXE")
    lin = for_os("linux", {})
    assert not lin.same_path("/opt/A", "/opt/a")
    assert lin.is_within("/opt/a/b", "/opt/a/") and not lin.is_within("/opt/ab", "/opt/a")


def test_windows_user_folders_come_from_the_known_folder_variables():
    dirs = for_os("windows", WIN_ENV).user_dirs()
    assert dirs["config"] == "C:\\Users\\张三\\AppData\\Roaming"
    assert dirs["cache"] == "C:\\Users\\张三\\AppData\\Local"
    assert dirs["program_data"] == "C:\\ProgramData"
    win = for_os("windows", {"userprofile": "D:\\Home\\u"})  # names are case-insensitive on Windows
    assert win.home_dir() == "D:\\Home\\u"
    assert win.user_dirs()["config"] == "D:\\Home\\u\\AppData\\Roaming"
    assert for_os("windows", WIN_ENV).home_dir() == "C:\\Users\\张三"  # not Git Bash's HOME
    assert for_os("windows", WIN_ENV).pip_cache_dir() == "C:\\Users\\张三\\AppData\\Local\\pip\\Cache"
    lin = for_os("linux", {"HOME": "/home/u", "XDG_CACHE_HOME": "/scratch/cache"})
    assert lin.user_dirs()["cache"] == "/scratch/cache" and lin.user_dirs()["config"] == "/home/u/.config"
    assert lin.pip_cache_dir() == "/scratch/cache/pip"


def test_interpreter_layout():
    win = for_os("windows", {})
    conda = win.interpreter_layout(r"C:\Users\u\miniconda3\envs\dl", conda=True)
    assert conda["python"] == r"C:\Users\u\miniconda3\envs\dl\python.exe"
    assert r"C:\Users\u\miniconda3\envs\dl\Library\bin" in conda["path_dirs"]
    assert win.script(r"C:\Users\u\miniconda3\envs\dl", "ninja", conda=True) == \
        r"C:\Users\u\miniconda3\envs\dl\Scripts\ninja.exe"
    venv = win.interpreter_layout(r"C:\v", conda=False)
    assert venv["python"] == r"C:\v\Scripts\python.exe"
    assert win.scripts_dir_of(r"C:\Users\u\miniconda3\envs\dl\python.exe") == r"C:\Users\u\miniconda3\envs\dl\Scripts"
    assert win.scripts_dir_of(r"C:\v\Scripts\python.exe") == r"C:\v\Scripts"
    lin = for_os("linux", {})
    assert lin.interpreter_layout("/e")["python"] == "/e/bin/python" and lin.script("/e", "ninja") == "/e/bin/ninja"


def test_windows_ui_language_through_an_injected_lcid():
    zh = Platform(os="windows", ui_language_id=lambda: 0x0804)  # zh-CN
    assert zh.ui_language() == "zh"
    assert Platform(os="windows", ui_language_id=lambda: 0x0404).ui_language() == "zh"  # zh-TW
    assert Platform(os="windows", ui_language_id=lambda: 0x0409).ui_language() == "en"
    assert Platform(os="windows", ui_language_id=lambda: 0x0407).ui_language() == "other"  # de-DE
    assert Platform(os="linux", ui_language_id=lambda: 0x0804).ui_language() is None

    def broken():
        raise OSError("no kernel32")
    assert Platform(os="windows", ui_language_id=broken).ui_language() is None


def test_snapshot_platform_works_for_old_snapshots():
    snap = SimpleNamespace(system=SimpleNamespace(os="windows", home="C:\\Users\\u"), env={})
    plat = for_snapshot(snap)
    assert plat.is_windows and plat.home_dir() == "C:\\Users\\u"
    assert for_snapshot(SimpleNamespace()).os == live_os()  # nothing recorded: this machine's rules
    assert current().os == live_os()


def test_activation_hint_without_conda_is_for_the_users_shell(monkeypatch):
    """Defect 15: ``export PATH=.../bin`` was printed for every OS; Windows needs the prefix, Library\\bin
    and Scripts, in PowerShell form."""
    import dlsetup.envs.backends as backends
    import dlsetup.platform as platform_mod
    from dlsetup.envs.backends.rattler import RattlerBackend

    monkeypatch.setattr(backends, "detect_tools", lambda: [])
    monkeypatch.setattr(platform_mod, "current", lambda: for_os("windows", {"PSModulePath": ""}))
    from dlsetup.platform.shell import join_and

    hint = join_and(RattlerBackend().activate_hint("dl", "C:\\Users\\u\\.conda\\envs\\dl"), "powershell")
    assert hint.startswith("$env:PATH = 'C:\\Users\\u\\.conda\\envs\\dl;")
    assert "\\Library\\bin;" in hint and "\\Scripts;" in hint and hint.endswith("' + $env:PATH")
    monkeypatch.setattr(platform_mod, "current", lambda: for_os("linux", {"SHELL": "/bin/fish"}))
    assert join_and(RattlerBackend().activate_hint("dl", "/home/u/.conda/envs/dl"), "fish") == \
        "set -gx PATH /home/u/.conda/envs/dl/bin $PATH"


def test_hf_mirror_on_windows_says_how_to_persist_the_variable(monkeypatch):
    import dlsetup.platform as platform_mod
    from dlsetup.mirror.writers import hf

    monkeypatch.setattr(platform_mod, "current", lambda: for_os("windows", {"PROMPT": "$P$G"}))

    class Report:
        path = "C:\\Users\\u\\AppData\\Roaming\\dlsetup\\hf-endpoint.sh"

        def __init__(self):
            self.notes, self.changes = [], []

        def note(self, key, **params):
            self.notes.append((key, params))

        def change(self, text):
            self.changes.append(text)

    ctx = SimpleNamespace(mirror=SimpleNamespace(hf="https://hf-mirror.com"))
    report = Report()
    hf.apply_snippet(None, ctx, report)
    persist = dict(report.notes)["mirror.note.hf_persist"]["command"]
    assert persist == "setx HF_ENDPOINT https://hf-mirror.com ; set HF_ENDPOINT=https://hf-mirror.com"


def test_windows_home_is_redacted_whatever_its_case():
    """W31: c:\\users\\Zhang is the same folder as C:\\Users\\zhang on Windows."""
    from dlsetup.probe.snapshot import _Redactor

    r = _Redactor("C:\\Users\\Zhang", "Zhang", None)
    assert r.text("c:\\users\\zhang\\venvs\\dl\\Scripts\\python.exe") == "~\\venvs\\dl\\Scripts\\python.exe"
    assert r.text("D:\\data\\ZHANG\\x") == "D:\\data\\<user>\\x"
    lin = _Redactor("/home/Zhang", "Zhang", None)
    assert lin.text("/home/zhang/x") == "/home/zhang/x"  # POSIX paths are case-sensitive


def test_windows_cache_folders_for_the_disk_check(monkeypatch):
    import dlsetup.platform as platform_mod
    from dlsetup.probe.system import disk_locations

    monkeypatch.setattr(platform_mod, "live_os", lambda: "windows")
    env = {"LOCALAPPDATA": "C:\\Users\\u\\AppData\\Local", "USERPROFILE": "C:\\Users\\u"}
    places = dict(disk_locations(env, "C:\\Users\\u"))
    assert places["pip cache"] == "C:\\Users\\u\\AppData\\Local\\pip\\Cache"
    assert places["uv cache"].replace("/", "\\") == "C:\\Users\\u\\AppData\\Local\\uv\\cache"
