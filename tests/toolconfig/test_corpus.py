"""Every real-world file in ``corpus/`` (each cites its origin in its first line) through the same round:

1. the tool's own reading of the original (pip: pip's own ``Configuration`` loader; uv: the real ``uv``
   binary; conda: :mod:`dlsetup.toolconfig.conda`, implemented from conda's source; pixi: TOML);
2. ``dlsetup mirror ustc --tools <tool>``: a file the tool rejects is refused with a one-line error (exit 2)
   and left alone; otherwise it is edited;
3. the tool's reading of the result: it loads, and the mirror is what it uses unless something the user set
   masks it — in which case ``mirror status`` names the mask;
4. ``mirror status`` agrees with the tool;
5. ``mirror restore`` puts back the original bytes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dlsetup.toolconfig import conda

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(p.name for p in CORPUS.iterdir())
TOOL_OF = {"pip": "pip", "condarc": "conda", "uv": "uv", "pixi": "pixi"}
USTC_PIP = "https://mirrors.ustc.edu.cn/pypi/simple"
USTC_CLOUD = "https://mirrors.ustc.edu.cn/anaconda/cloud"
REFUSE = "http://127.0.0.1:9"


def test_the_corpus_has_sixty_files_of_every_tool():
    kinds = {TOOL_OF[n.split("-", 1)[0]] for n in FILES}
    assert len(FILES) >= 60 and kinds == {"pip", "conda", "uv", "pixi"}


def target(tool: str, home: Path) -> Path:
    return {"pip": home / ".config/pip/pip.conf", "conda": home / ".condarc", "uv": home / ".config/uv/uv.toml",
            "pixi": Path(os.environ["PIXI_HOME"]) / "config.toml"}[tool]


def pip_reading(monkeypatch) -> tuple[bool, str | None]:
    """(pip loads its config, the index ``pip install`` uses) through pip's own loader."""
    from pip._internal.configuration import Configuration
    from pip._internal.exceptions import ConfigurationError

    monkeypatch.delenv("PIP_CONFIG_FILE", raising=False)  # user files are read only without it
    config = Configuration(isolated=False)
    try:
        config.load()
    except ConfigurationError:
        return False, None
    values = dict(config.items())
    # pip's option parser: the command's section ([install]) over [global], whichever file set it
    return True, values.get("install.index-url") or values.get("global.index-url")


def uv_reading(path: Path, tmp_path: Path) -> tuple[bool, str]:
    """(uv accepts the file, what uv printed) from the real binary: every request goes to a refusing proxy."""
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.update(NO_COLOR="1", HTTPS_PROXY=REFUSE, HTTP_PROXY=REFUSE, https_proxy=REFUSE, http_proxy=REFUSE,
               ALL_PROXY=REFUSE, UV_HTTP_RETRIES="0", UV_HTTP_TIMEOUT="10")
    req = tmp_path / "req.in"
    req.write_text("sampleproject\n")
    p = subprocess.run([uv, "pip", "compile", "--config-file", str(path), "--no-cache", "--python-preference",
                        "only-system", "--python", sys.executable, str(req)],
                       capture_output=True, text=True, timeout=90, env=env, cwd=tmp_path)
    out = p.stderr + p.stdout
    rejected = "Failed to parse" in out or "TOML parse error" in out or "unknown field" in out
    return not rejected, out


def conda_reading(path: Path) -> tuple[bool, str]:
    """(conda loads the file, where ``conda-forge`` then comes from)."""
    from dlsetup.toolconfig.model import Collected

    out = Collected()
    conda.layers(dict(os.environ), out)
    if any(n.kind == "parse-error" for n in out.notes):
        return False, ""
    return True, conda.channel_urls(["conda-forge"])[0]


def pixi_reading(path: Path) -> tuple[bool, object]:
    from dlsetup.toolconfig.readers import ConfigFileError, parse_toml

    try:
        data = parse_toml(path.read_text(encoding="utf-8"), path)
    except ConfigFileError:
        return False, None
    return True, (data.get("mirrors") or {}).get("https://conda.anaconda.org/conda-forge")


def reading(tool: str, path: Path, monkeypatch, tmp_path: Path):
    if tool == "pip":
        return pip_reading(monkeypatch)
    if tool == "uv":
        return uv_reading(path, tmp_path)
    if tool == "conda":
        return conda_reading(path)
    return pixi_reading(path)


def status_of(cli, tool: str) -> dict:
    doc = cli("mirror", "status", "--json").json()
    return next(t for t in doc["tools"] if t["tool"] == tool)


@pytest.mark.parametrize("name", FILES)
def test_corpus_file(name: str, cli, home: Path, tmp_path: Path, monkeypatch):
    tool = TOOL_OF[name.split("-", 1)[0]]
    path = target(tool, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    original = (CORPUS / name).read_bytes()
    path.write_bytes(original)
    accepted_before, _ = reading(tool, path, monkeypatch, tmp_path)
    monkeypatch.setenv("PIP_CONFIG_FILE", str(tmp_path / "no-such-pip.conf"))  # back to the isolated default

    r = cli("mirror", "ustc", "--offline", "--tools", tool, "--json")
    if not accepted_before:
        # 2. a file the tool itself rejects: refused in one line, nothing written
        assert r.code == 2, r.stdout
        assert r.json()["error"]["message"] and "Traceback" not in r.stderr
        assert path.read_bytes() == original
        return
    assert r.code == 0, r.stdout + r.stderr
    doc = r.json()

    # 3. the tool's reading of the result, 4. status agrees with it
    accepted, used = reading(tool, path, monkeypatch, tmp_path)
    monkeypatch.setenv("PIP_CONFIG_FILE", str(tmp_path / "no-such-pip.conf"))
    assert accepted, used
    st = status_of(cli, tool)
    rows = st["rows"]
    if tool == "pip":
        assert st["in_force"] == used
        masked_by_install = any(r_["key"] == "install.index-url" for r_ in rows)
        assert used.rstrip("/") == USTC_PIP or masked_by_install
        if masked_by_install:
            glob = next(r_ for r_ in rows if r_["key"] == "global.index-url")
            assert not glob["effective"] and glob["masked_by_setting"] == "install.index-url"
    elif tool == "uv":
        asked = used.split("Failed to fetch: ", 1)[1].split("/sampleproject", 1)[0] if "Failed to fetch" in used else ""
        assert asked.rstrip("/") == st["in_force"].rstrip("/"), used  # status names the index uv asks first
        notes = [n["code"] for t in doc["tools"] for n in t.get("notes", [])]
        assert asked.rstrip("/") == USTC_PIP or "mirror.note.uv_index_first" in notes
    elif tool == "conda":
        expect = f"{USTC_CLOUD}/conda-forge"
        assert st["in_force"] == used
        if used != expect:  # something the user set wins: status must say what
            cf = [r_ for r_ in rows if r_["key"] == "custom_channels.conda-forge" and r_["value"].startswith(USTC_CLOUD)]
            assert cf and not cf[0]["effective"] and cf[0]["masked_by"], rows
    else:
        assert used == [f"{USTC_CLOUD}/conda-forge"]
        assert any(r_["key"] == "mirrors.https://conda.anaconda.org/conda-forge" and r_["effective"] for r_ in rows)
    warnings = [w["code"] for w in doc.get("warnings", [])]
    assert "Traceback" not in r.stderr and all(w.startswith("mirror.") for w in warnings)

    # 5. restore, byte for byte
    assert cli("mirror", "restore").code == 0
    assert path.read_bytes() == original
