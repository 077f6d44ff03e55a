"""Secret planting: a credential put through every input dlsetup reads must never come out of any output.

Each secret carries the marker ``SEKRET`` so one grep finds a leak anywhere. The config shapes are the
documented ones (pip's configuration page, conda's ``.condarc`` reference, uv's and pixi's settings
pages, huggingface_hub's environment variables); the secrets are made up here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dlsetup.util.redact import redact

MARK = "SEKRET"
PW = f"{MARK}pw1@{MARK}pw2"  # a raw "@" inside the password: pip splits userinfo on the last "@"
HF = "hf_" + MARK + "abcdefghijklmnopqrstuvwxyz0123456789"


@pytest.mark.parametrize("raw,expected", [
    ("https://user:p@ss@host/simple", "https://user:***@host/simple"),
    ("https://u:a@b@c@host:8443/x?y=1", "https://u:***@host:8443/x?y=1"),
    ("https://tok@host/x", "https://***@host/x"),
    ("https://h/simple?token=abc&x=1", "https://h/simple?token=***&x=1"),
    ("https://h/p?access_token=a1;api_key=b2&apikey=c3&key=d4&password=e5&secret=f6&sig=g7",
     "https://h/p?access_token=***;api_key=***&apikey=***&key=***&password=***&secret=***&sig=***"),
    ("https://conda.anaconda.org/t/tk-123/conda-forge", "https://conda.anaconda.org/t/***/conda-forge"),
    ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer ***"),
    ("curl -H 'authorization: token ghp_abcdef123456'", "curl -H 'authorization: token ***'"),
    (f"HF_TOKEN={HF}", "HF_TOKEN=hf_***"),
    ("https://pypi.tuna.tsinghua.edu.cn/simple", "https://pypi.tuna.tsinghua.edu.cn/simple"),
    ("torch==2.6.0+cu124 key=value", "torch==2.6.0+cu124 key=value"),
    ("user@example.com wrote /home/u/a@b", "user@example.com wrote /home/u/a@b"),
])
def test_redact(raw, expected):
    assert redact(raw) == expected


def _plant(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, which: str) -> None:
    url = f"https://alice:{PW}@pypi.corp.example/simple?token={MARK}q1"
    if which == "pip.conf":
        p = home / ".config" / "pip" / "pip.conf"
        p.parent.mkdir(parents=True)
        p.write_text(f"[global]\nindex-url = {url}\nextra-index-url = https://h.example/s?access_token={MARK}q2\n")
    elif which == "pip.ini":
        p = tmp_path / "cfg" / "pip.ini"
        p.parent.mkdir(parents=True)
        p.write_text(f"[global]\nindex-url = {url}\n")
        monkeypatch.setenv("PIP_CONFIG_FILE", str(p))
    elif which == "PIP_*":
        monkeypatch.setenv("PIP_INDEX_URL", url)
        monkeypatch.setenv("PIP_EXTRA_INDEX_URL", f"https://x.example/simple?api_key={MARK}q3")
        monkeypatch.setenv("PIP_FIND_LINKS", f"https://bob:{MARK}fl@links.example/")
    elif which == "condarc":
        (home / ".condarc").write_text(
            "channels:\n"
            f"  - https://conda.anaconda.org/t/{MARK}tok1/conda-forge\n"
            f"  - https://carol:{PW}@conda.corp.example/main\n"
            f"channel_alias: https://conda.corp.example/t/{MARK}tok2\n"
            "custom_channels:\n"
            f"  pytorch: https://dan:{MARK}cc@mirror.example/anaconda/cloud\n"
            f"default_channels:\n  - https://repo.example/main?sig={MARK}sig\n")
    elif which == "uv.toml":
        p = home / ".config" / "uv" / "uv.toml"
        p.parent.mkdir(parents=True)
        p.write_text(f'[[index]]\nurl = "{url}"\ndefault = true\n\n[pip]\nindex-url = "{url}"\n')
    elif which == "UV_*":
        monkeypatch.setenv("UV_DEFAULT_INDEX", url)
        monkeypatch.setenv("UV_INDEX", f"corp=https://erin:{MARK}uv@uv.example/simple")
        monkeypatch.setenv("UV_INDEX_URL", f"https://uv2.example/simple?password={MARK}q4")
    elif which == "pixi":
        p = Path(os.environ["PIXI_HOME"]) / "config.toml"
        p.parent.mkdir(parents=True)
        p.write_text('[mirrors]\n"https://conda.anaconda.org/conda-forge" = '
                     f'["https://frank:{PW}@pixi.example/conda-forge?secret={MARK}q5"]\n'
                     f'default-channels = ["https://conda.anaconda.org/t/{MARK}tok3/conda-forge"]\n')
    elif which == "HF_*":
        monkeypatch.setenv("HF_ENDPOINT", f"https://gina:{MARK}hf@hf.example?token={MARK}q6")
        monkeypatch.setenv("HF_TOKEN", HF)
        monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", HF)
    elif which == "netrc":
        (home / ".netrc").write_text(f"machine pypi.corp.example login alice password {MARK}netrc\n")
        monkeypatch.setenv("PIP_INDEX_URL", "https://pypi.corp.example/simple")
    else:  # pragma: no cover
        raise AssertionError(which)


SOURCES = ["pip.conf", "pip.ini", "PIP_*", "condarc", "uv.toml", "UV_*", "pixi", "HF_*", "netrc"]


@pytest.mark.parametrize("which", SOURCES)
def test_a_planted_secret_never_leaves(cli, isolated_env, tmp_path, monkeypatch, which):
    _plant(isolated_env, tmp_path, monkeypatch, which)
    snap = tmp_path / "me.json"
    runs = {
        "doctor": cli("doctor"),
        "doctor --json": cli("doctor", "--json"),
        "doctor --save-snapshot": cli("doctor", "--save-snapshot", str(snap)),
        "mirror status": cli("mirror", "status"),
        "mirror status --json": cli("mirror", "status", "--json"),
        "mirror --dry-run": cli("mirror", "tuna", "--dry-run", "--offline", "--tools", "pip,conda,uv,pixi,hf"),
        "mirror --dry-run --json": cli("mirror", "tuna", "--dry-run", "--offline", "--tools", "pip,conda,uv,pixi,hf",
                                       "--json"),
        "doctor -vv": cli("doctor", "-vv"),
    }
    outputs = {name: r.stdout + r.stderr for name, r in runs.items()}
    outputs["snapshot file"] = snap.read_text(encoding="utf-8") if snap.exists() else ""
    outputs["snapshot --no-redact"] = ""
    r = cli("doctor", "--save-snapshot", str(tmp_path / "raw.json"), "--no-redact")
    outputs["snapshot --no-redact"] = (tmp_path / "raw.json").read_text(encoding="utf-8") + r.stdout + r.stderr
    for name, r in runs.items():
        assert r.code in (0, 1, 3), (name, r)
        if name.endswith("--json"):
            json.loads(r.stdout)
    assert snap.exists()
    leaks = {name: out[max(0, out.find(MARK) - 80): out.find(MARK) + 40] for name, out in outputs.items()
             if MARK in out}
    assert leaks == {}
    # the mirror's own (public) URL still shows: redaction hides secrets, not the diagnosis
    assert "pypi.tuna.tsinghua.edu.cn" in outputs["mirror --dry-run"]
