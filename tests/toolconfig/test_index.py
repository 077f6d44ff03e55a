"""The one package-index page reader (PEP 503 HTML, PEP 691 JSON, flat pages), names and tags by packaging."""

from __future__ import annotations

from dlsetup.toolconfig import index

# PEP 503 page shape as pypi.org serves it (https://pypi.org/simple/torch/, reduced to two links) and a flat
# find-links page as download.pytorch.org/whl/torch_stable.html writes it (relative hrefs, "+" escaped).
SIMPLE = """<!DOCTYPE html><html><body><h1>Links for torch</h1>
<a href="https://files.pythonhosted.org/packages/aa/bb/torch-2.6.0-cp311-cp311-manylinux1_x86_64.whl#sha256=00"
   data-requires-python="&gt;=3.9.0">torch-2.6.0-cp311-cp311-manylinux1_x86_64.whl</a><br />
<a href="../../packages/torch-1.0.tar.gz#sha256=11" data-yanked="">torch-1.0.tar.gz</a><br />
</body></html>"""
FLAT = '<a href="cu126/torch-2.6.0%2Bcu126-cp311-cp311-linux_x86_64.whl">cu126/torch-2.6.0%2Bcu126-cp311-cp311-linux_x86_64.whl</a><br>'


def test_html_pages_give_names_urls_and_attributes():
    files = index.files_from_html(SIMPLE, "https://pypi.org/simple/torch/")
    assert [f.filename for f in files] == ["torch-2.6.0-cp311-cp311-manylinux1_x86_64.whl", "torch-1.0.tar.gz"]
    assert files[0].requires_python == ">=3.9.0" and not files[0].yanked and "#" not in files[0].url
    assert files[1].yanked and files[1].url == "https://pypi.org/packages/torch-1.0.tar.gz"
    flat = index.files_from_html(FLAT, "https://download.pytorch.org/whl/torch_stable.html")
    assert flat[0].filename == "torch-2.6.0+cu126-cp311-cp311-linux_x86_64.whl"
    assert flat[0].url.startswith("https://download.pytorch.org/whl/cu126/")


def test_json_pages():
    doc = {"files": [{"filename": "Torch-2.6.0-py3-none-any.whl", "url": "../f/x.whl", "requires-python": ">=3.9",
                      "yanked": "broken"}, {"url": "no-name"}]}
    files = index.files_from_json(doc, "https://idx/simple/torch/")
    assert len(files) == 1 and files[0].url == "https://idx/simple/f/x.whl" and files[0].yanked


def test_versions_and_tags_come_from_packaging():
    assert index.file_version("torch-2.6.0+cu126-cp311-cp311-linux_x86_64.whl", "Torch") == "2.6.0+cu126"
    assert index.file_version("typing_extensions-4.12.2.tar.gz", "typing-extensions") == "4.12.2"
    assert index.file_version("torchvision-0.21.0-cp311-cp311-linux_x86_64.whl", "torch") is None
    assert index.file_version("torch-2.6.0.exe", "torch") is None
    name, version, tags = index.wheel("torch-2.6.0+cpu-cp311-cp311-manylinux_2_28_aarch64.whl")
    assert name == "torch" and version.local == "cpu"
    assert {(t.interpreter, t.platform) for t in tags} == {("cp311", "manylinux_2_28_aarch64")}
    assert index.wheel("not-a-wheel.whl") is None
    assert index.project_url("https://idx/simple", "Torch_Vision") == "https://idx/simple/torch-vision/"
