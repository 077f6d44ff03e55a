"""Per-file fallback along catalogue mirrors (``dlsetup download --mirror``), then upstream."""

from __future__ import annotations

import hashlib
import json

from dlsetup.offline.mirrors import alternatives, load
from tests.download.server import Faults, FlakyServer


def test_conda_and_pypi_urls_map_onto_catalogue_mirrors():
    tuna, ustc = load(["tuna", "ustc"])
    url = "https://conda.anaconda.org/conda-forge/linux-64/numpy-2.1.0-py311h71ddf71_0.conda"
    alts = alternatives(url, [tuna, ustc])
    # the planned URL first (here it is the upstream one already), then each mirror carrying conda-forge
    assert alts == [url, f"{tuna.conda}/cloud/conda-forge/linux-64/numpy-2.1.0-py311h71ddf71_0.conda",
                    f"{ustc.conda}/cloud/conda-forge/linux-64/numpy-2.1.0-py311h71ddf71_0.conda"]
    whl = "https://files.pythonhosted.org/packages/ab/cd/ef/six-1.16.0-py2.py3-none-any.whl"
    alts = alternatives(whl, [tuna])
    assert alts == [whl, f"{tuna.pip_files}/ab/cd/ef/six-1.16.0-py2.py3-none-any.whl"]
    # a file already on a mirror: the next mirror, then upstream
    on_tuna = f"{tuna.conda}/pkgs/main/noarch/x-1-0.conda"
    alts = alternatives(on_tuna, [tuna, ustc])
    assert alts[0] == on_tuna and alts[-1] == "https://repo.anaconda.com/pkgs/main/noarch/x-1-0.conda"
    # an unknown host has no equivalents
    assert alternatives("http://127.0.0.1:1/x.whl", [tuna]) == ["http://127.0.0.1:1/x.whl"]


def test_download_falls_back_per_file_along_named_mirrors(cli, tmp_path, isolated_env, demo_wheels):
    whl = next(w for w in demo_wheels if w.name.startswith("dlsetup_wheel_b-1.0"))
    data = whl.read_bytes()
    rel = f"ab/cd/{whl.name}"
    with FlakyServer(Faults(corrupt={f"packages/{rel}"})) as m1, FlakyServer(Faults(missing={f"packages/{rel}"})) as m2, \
            FlakyServer() as m3:
        for srv in (m1, m2, m3):
            srv.add(f"packages/{rel}", data)
        cfg = isolated_env / ".config" / "dlsetup"
        cfg.mkdir(parents=True)
        # custom mirrors in the schema of dlsetup/mirror/data/mirrors.toml (made for this test)
        cfg.joinpath("mirrors.toml").write_text("".join(
            f'[mirror.m{i}]\nname = "test mirror {i}"\npip = "{s.url}/simple"\npip_files = "{s.url}/packages"\n\n'
            for i, s in enumerate((m1, m2, m3), start=1)))
        lock = tmp_path / "pylock.toml"
        lock.write_text(
            '# the shape of PEP 751 (https://peps.python.org/pep-0751/), made for this test\n'
            'lock-version = "1.0"\ncreated-by = "test"\n\n[[packages]]\nname = "dlsetup-wheel-b"\nversion = "1.0"\n'
            f'wheels = [{{ url = "{m1.url}/packages/{rel}", size = {len(data)}, '
            f'hashes = {{ sha256 = "{hashlib.sha256(data).hexdigest()}" }} }}]\n')
        out = tmp_path / "b"
        r = cli("--json", "download", "-f", str(lock), "--mirror", "m2", "--mirror", "m3", "-o", str(out))
        assert r.code == 0, r
    (fb,) = r.json()["fallbacks"]
    assert fb["url"] == f"{m3.url}/packages/{rel}" and [t["reason"][:15] for t in fb["tried"]] == [
        "sha256 mismatch", "HTTP 404"]
    manifest = json.loads((out / "manifest.json").read_text())
    (f,) = manifest["files"]
    assert f["url"] == f"{m3.url}/packages/{rel}" and f["planned_url"] == f"{m1.url}/packages/{rel}"
    assert (out / "wheels" / whl.name).read_bytes() == data
    # m1's wrong bytes were fetched and thrown away; m2 said 404; pythonhosted.org was never needed
    assert [q[2] for q in m1.requests] == [200] and [q[2] for q in m2.requests] == [404]


def test_unknown_mirror_name_is_a_usage_error(cli, tmp_path):
    r = cli("download", "x", "--mirror", "no-such-mirror", "-o", str(tmp_path / "o"))
    assert r.code == 2 and "Traceback" not in r.stderr
