"""``create env`` fetches conda packages through the engine: a channel whose connections drop still works."""

from __future__ import annotations

import json
from pathlib import Path

from tests.download.server import Faults, FlakyServer


def test_create_env_survives_drops_and_keeps_channel_urls(cli, demo_channel, tmp_path):
    big = max((p for p in demo_channel.rglob("*") if p.name.endswith((".conda", ".tar.bz2"))),
              key=lambda p: p.stat().st_size)
    every = big.stat().st_size // 3  # the largest archive (the repackaged pip) needs at least three connections
    with FlakyServer(Faults(drop_every=every, drop_suffixes=(".conda", ".tar.bz2"))) as srv:
        srv.add_tree(demo_channel, "conda")
        r = cli("--json", "create", "env", "flaky", "-c", f"{srv.url}/conda", "python", "pip", "dlsetup-demo-a",
                "--backend", "rattler")
        assert r.code == 0, r
        ranged = [q for q in srv.requests if q[0].endswith(big.name) and q[1]]
    prefix = Path(r.json()["prefix"])
    assert (prefix / "bin" / "demo-a").exists()
    assert ranged and all(q[2] == 206 for q in ranged)  # resumed with Range, never restarted from zero
    meta = [json.loads(p.read_text()) for p in (prefix / "conda-meta").glob("*.json")]
    urls = {m["name"]: m["url"] for m in meta if "url" in m}
    assert urls["dlsetup-demo-a"].startswith(f"{srv.url}/conda/noarch/")  # not the temporary file:// copy
    assert all(u.startswith("http://127.0.0.1") for u in urls.values())
    cache = Path(tmp_path / "home" / ".cache" / "dlsetup" / "downloads")
    assert not [p for p in cache.iterdir() if p.name.startswith("conda-")]  # the temporary copies are gone
