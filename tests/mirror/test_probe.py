"""dlsetup mirror probe / fastest against fake mirrors on 127.0.0.1: good, slow, 404, soft 404, wrong
bytes and hanging ones. Only mirrors that really serve the package page, the repodata and the exact
wheel are ranked; the others are listed with the reason."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dlsetup import __version__

PKG = ["--package", "dlsetup-probe-pkg", "--version", "1.1.0", "--variant", "cu126", "--timeout", "2"]


@pytest.fixture
def fleet(serve, custom_mirrors):
    servers = {
        "good": serve("good"),
        "slow": serve("slow", delay=0.4),
        "gone": serve("404"),
        "soft": serve("soft404"),
        "junk": serve("badbytes"),
        "hung": serve("hang"),
    }
    custom_mirrors("\n".join(s.toml(name) for name, s in servers.items()))
    return servers


def by_id(doc):
    return {m["mirror"]: m for m in doc["mirrors"]}


def codes(m):
    return {c["tool"]: c["code"] for c in m["checks"]}


def test_probe_ranks_only_mirrors_that_serve_what_is_needed(cli, fleet):
    r = cli("mirror", "probe", *fleet, *PKG, "--json")
    assert r.code == 0, r
    doc = r.json()
    m = by_id(doc)
    assert doc["fastest"] == "good"
    assert [x["mirror"] for x in doc["mirrors"][:2]] == ["good", "slow"]
    assert m["good"]["rank"] == 1 and m["slow"]["rank"] == 2
    assert m["slow"]["total_ms"] > m["good"]["total_ms"]
    assert codes(m["good"]) == {"pip": "ok", "conda": "ok", "torch": "ok", "hf": "ok"}
    assert codes(m["gone"]) == {"pip": "http-status", "conda": "http-status", "torch": "http-status", "hf": "http-status"}
    assert codes(m["soft"]) == {"pip": "soft-404", "conda": "html", "torch": "soft-404", "hf": "html"}
    assert codes(m["junk"])["pip"] == "bad-magic" and codes(m["junk"])["torch"] == "bad-magic"
    assert codes(m["junk"])["conda"] == "ok"  # the JSON is fine there; one bad check is enough to fail
    assert set(codes(m["hung"]).values()) == {"timeout"}
    for name in ("gone", "soft", "junk", "hung"):
        assert m[name]["ok"] is False and m[name]["rank"] is None and m[name]["reason"]
    good_torch = next(c for c in m["good"]["checks"] if c["tool"] == "torch")
    assert good_torch["what"].startswith("torch-2.7.0+cu126-")  # the newest matching wheel
    text = cli("mirror", "probe", *fleet, *PKG)
    assert text.code == 0 and "pip:soft-404" in text.stdout and "Fastest passing mirror: good" in text.stdout


def test_probes_send_user_agent_and_cap_bytes(cli, fleet):
    assert cli("mirror", "probe", "good", *PKG, "--max-bytes", "2048", "--json").code == 0
    log = fleet["good"].log
    assert log and all(h.user_agent == f"dlsetup/{__version__}" for h in log)
    files = [h for h in log if h.path.startswith(("/packages/", "/torch/whl/cu126/torch-"))]
    assert files and all(h.range == "bytes=0-2047" and h.status == 206 for h in files)
    assert any(h.path.endswith("repodata.json") and h.range for h in log)
    assert "/simple/dlsetup-probe-pkg/" in fleet["good"].paths()


def test_probe_reports_missing_version_and_wheel(cli, fleet):
    doc = cli("mirror", "probe", "good", "--package", "dlsetup-probe-pkg", "--version", "9.9", "--variant", "cu126",
              "--python", "3.2", "--json").json()
    m = by_id(doc)["good"]
    assert codes(m)["pip"] == "no-version" and codes(m)["torch"] == "no-wheel"
    assert doc["fastest"] is None


def test_all_failing_is_exit_1(cli, fleet):
    r = cli("mirror", "probe", "gone", "soft", *PKG, "--json")
    assert r.code == 1 and r.json()["fastest"] is None


@pytest.mark.parametrize("layout", ["flat", "stable_html"])
def test_torch_layouts(cli, serve, custom_mirrors, layout):
    s = serve("good")
    custom_mirrors(s.toml("lay", torch_layout=layout))
    doc = cli("mirror", "probe", "lay", "--checks", "torch", "--variant", "cpu", "--json").json()
    check = by_id(doc)["lay"]["checks"][0]
    assert check["ok"] and check["what"].startswith("torch-2.6.0+cpu-")


def test_results_are_cached_and_fastest_offline_applies_them(cli, fleet, home):
    assert cli("mirror", "probe", *fleet, *PKG).code == 0
    cache = Path(os.environ["DLSETUP_CACHE_DIR"]) / "mirror" / "probe.json"
    assert json.loads(cache.read_text())["fastest"] == "good"
    for s in fleet.values():
        s.log.clear()
    r = cli("mirror", "fastest", "--offline", "--apply", "--tools", "pip", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["probe"]["cached"] is True and doc["probe"]["fastest"] == "good"
    assert doc["applied"]["mirror"] == "good"
    assert all(not s.log for s in fleet.values())  # --offline: no request at all
    pip = (home / ".config/pip/pip.conf").read_text()
    assert f"index-url = {fleet['good'].url}/simple" in pip and "trusted-host = 127.0.0.1:" in pip


def test_fastest_offline_without_cache_is_a_usage_error(cli):
    r = cli("mirror", "fastest", "--offline")
    assert r.code == 2 and "dlsetup mirror probe" in r.stderr


def test_fastest_probes_and_applies(cli, fleet, home):
    r = cli("mirror", "fastest", "good", "slow", "gone", *PKG, "--apply", "--tools", "pip,uv")
    assert r.code == 0, r
    assert fleet["good"].url in (home / ".config/uv/uv.toml").read_text()


def test_apply_checks_the_mirror_first(cli, fleet, home):
    pkg = ["--package", "dlsetup-probe-pkg", "--timeout", "2"]
    for bad in ("gone", "soft", "junk", "hung"):
        r = cli("mirror", bad, "--tools", "pip,conda", *pkg)
        assert r.code == 1 and "failed its check" in r.stderr and "--offline" in r.stderr, (bad, r)
    assert not (home / ".config/pip/pip.conf").exists() and not (home / ".condarc").exists()
    r = cli("mirror", "good", "--tools", "pip,conda,torch", "--variant", "cu126", *pkg, "--json")
    assert r.code == 0, r
    doc = r.json()
    assert {c["tool"] for c in doc["checked"]} == {"pip", "conda", "torch"} and all(c["ok"] for c in doc["checked"])
    assert (home / ".condarc").exists()


def test_apply_skips_torch_when_its_wheel_check_fails(cli, serve, custom_mirrors, home):
    s = serve("good")
    custom_mirrors(s.toml("partial", variants=("cpu", "cu126", "cu128")))  # claims cu128, serves none
    r = cli("mirror", "partial", "--tools", "pip,torch", "--variant", "cu128", "--package", "dlsetup-probe-pkg",
            "--json")
    assert r.code == 0, r
    torch = next(t for t in r.json()["tools"] if t["tool"] == "torch")
    assert torch["status"] == "skipped" and "cu128" in torch["notes"][0]["message"]
    assert "torch/whl" not in (home / ".config/pip/pip.conf").read_text()


def test_credentials_of_a_custom_mirror_never_reach_json_text_or_cache(cli, serve, custom_mirrors):
    s = serve("good")
    custom_mirrors(s.toml("corp").replace("http://127.0.0.1", "http://alice:s3cret@127.0.0.1"))
    listed = cli("mirror", "list", "--json")
    assert listed.code == 0 and "s3cret" not in listed.stdout
    assert "http://alice:***@127.0.0.1" in listed.stdout
    for args in (("--json",), ()):
        r = cli("mirror", "probe", "corp", *PKG, *args)
        assert r.code == 0, r
        assert "s3cret" not in r.stdout + r.stderr
    cache = Path(os.environ["DLSETUP_CACHE_DIR"]) / "mirror" / "probe.json"
    assert "s3cret" not in cache.read_text()
    assert s.log  # the server was really asked (with the credentials, which httpx sends as basic auth)


def test_fastest_offline_accepts_aliases(cli, fleet, custom_mirrors):
    assert cli("mirror", "probe", *fleet, *PKG).code == 0
    text = "\n".join(s.toml(name) for name, s in fleet.items()).replace(
        '[mirror.good]\n', '[mirror.good]\naliases = ["best"]\n')
    custom_mirrors(text)
    r = cli("mirror", "fastest", "best", "slow", "--offline", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["probe"]["fastest"] == "good"
    assert [m["mirror"] for m in doc["probe"]["mirrors"]] == ["good", "slow"]
