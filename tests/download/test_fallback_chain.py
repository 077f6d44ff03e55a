"""The per-file fallback list built automatically: the mirror the user applied (``dlsetup mirror NAME``),
the mirrors the last probe found healthy (fastest first), then upstream — besides ``--mirror`` names."""

from __future__ import annotations

import time
from pathlib import Path

from dlsetup.mirror import probe
from dlsetup.offline.mirrors import PYPI_FILES, fallback_chain
from tests.download.server import Faults, FlakyServer

REL = "ab/cd"



def _custom_mirrors(home: Path, servers: dict[str, str]) -> None:
    # custom mirrors in the schema of dlsetup/mirror/data/mirrors.toml (made for these tests)
    cfg = home / ".config" / "dlsetup"
    cfg.mkdir(parents=True, exist_ok=True)
    cfg.joinpath("mirrors.toml").write_text("".join(
        f'[mirror.{name}]\nname = "test mirror {name}"\npip = "{url}/simple"\npip_files = "{url}/packages"\n\n'
        for name, url in servers.items()))


def _probe_report(ok: dict[str, float], failing: list[str], age_s: float = 60) -> probe.ProbeReport:
    mirrors = [probe.MirrorProbe(mirror=m, name=m, ok=True, total_ms=ms) for m, ms in ok.items()]
    mirrors += [probe.MirrorProbe(mirror=m, name=m, ok=False, reason="pip: HTTP 404") for m in failing]
    return probe.ProbeReport(created="", created_unix=time.time() - age_s, package="pip", version=None,
                             variant=None, variant_source="option", subdir="linux-64", python_tag="cp311",
                             tools=["pip"], mirrors=probe.rank(mirrors))


def test_chain_order_named_applied_probed_then_upstream(isolated_env, cli):
    urls = {f"m{i}": f"http://127.0.0.1:{9000 + i}" for i in range(1, 6)}
    _custom_mirrors(isolated_env, urls)
    r = cli("mirror", "m1", "--offline")  # the user applied m1: pip's index now points at it
    assert r.code == 0, r
    probe.save_cache(_probe_report({"m3": 300.0, "m4": 100.0, "m1": 50.0}, failing=["m5"]))
    chain = fallback_chain(["m2"])
    assert [(c["mirror"], c["why"]) for c in chain.describe()] == [
        ("m2", "named"), ("m1", "applied"), ("m4", "probed"), ("m3", "probed")]
    planned = f"{urls['m1']}/packages/{REL}/x-1.0-py3-none-any.whl"
    assert chain.alternatives(planned) == [
        planned, *(f"{urls[m]}/packages/{REL}/x-1.0-py3-none-any.whl" for m in ("m2", "m4", "m3")),
        f"{PYPI_FILES}/{REL}/x-1.0-py3-none-any.whl"]
    # a week-old probe no longer counts; without anything applied or probed there is no chain at all
    probe.save_cache(_probe_report({"m4": 100.0}, failing=[], age_s=8 * 24 * 3600))
    assert [c["mirror"] for c in fallback_chain().describe()] == ["m1"]
    assert cli("mirror", "reset").code == 0
    assert fallback_chain().mirrors == [] and fallback_chain().alternatives(planned) == [planned]


def test_create_takes_a_wheel_the_applied_mirror_corrupts_from_the_probed_one(cli, demo_wheels, isolated_env,
                                                                               tmp_path, uv_isolated):
    whl = next(w for w in demo_wheels if w.name.startswith("dlsetup_wheel_b-2.1"))
    path = f"packages/{REL}/{whl.name}"
    with FlakyServer(Faults(corrupt={path})) as applied, FlakyServer(Faults(missing={path})) as sick, \
            FlakyServer() as healthy:
        for srv in (applied, sick, healthy):
            srv.add(path, whl)
        _custom_mirrors(isolated_env, {"applied": applied.url, "sick": sick.url, "healthy": healthy.url})
        assert cli("mirror", "applied", "--offline").code == 0
        # the real probe against the loopback mirrors: "sick" has no simple page for the package
        sick.faults.missing.add("simple/dlsetup-wheel-b/")
        p = cli("--json", "mirror", "probe", "sick", "healthy", "--checks", "pip", "--package", "dlsetup-wheel-b")
        assert [(m["mirror"], m["ok"]) for m in p.json()["mirrors"]] == [("healthy", True), ("sick", False)], p
        before, before_sick = len(healthy.requests), len(sick.requests)
        r = cli("--json", "create", "env", str(tmp_path / "env"), "--backend", "venv", "dlsetup-wheel-b")
        assert r.code == 0, r
        got = [q for q in healthy.requests[before:] if q[0] == path]
        bad = [q for q in applied.requests if q[0] == path]
    assert r.json()["pip_index_url"] == f"{applied.url}/simple"  # planned on the applied mirror
    assert bad and got == [(path, None, 200)]  # wrong bytes there; the same file from the healthy one
    wf = r.json()["wheel_fetch"]
    assert wf["via"] == "engine" and wf["fallbacks"] == 1
    assert not [q for q in sick.requests[before_sick:] if q[0] == path]  # the failing mirror is not in the chain
    site = next((tmp_path / "env").glob("lib/python3*/site-packages"))
    assert (site / "dlsetup_wheel_b-2.1.dist-info").is_dir()
