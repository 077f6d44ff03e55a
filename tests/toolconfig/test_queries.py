"""dlsetup.toolconfig.pip.index_url and toolconfig.conda channel expansion: the answers resolve and envs use."""

from __future__ import annotations

import os
from pathlib import Path

from dlsetup.toolconfig import conda, pip


def test_pip_index_url_follows_pip_precedence(home: Path):
    assert pip.index_url() is None  # PyPI, pip's default
    p = home / ".config/pip/pip.conf"
    p.parent.mkdir(parents=True)
    p.write_text("[global]\nindex-url = https://pypi.tuna.tsinghua.edu.cn/simple\n")
    assert pip.index_url() == "https://pypi.tuna.tsinghua.edu.cn/simple"
    env = dict(os.environ, PIP_INDEX_URL="https://corp.example/simple")
    assert pip.index_url(env) == "https://corp.example/simple"


def test_conda_channel_urls_through_condarc(home: Path):
    assert conda.channel_urls(["conda-forge", "defaults"])[:2] == [
        "https://conda.anaconda.org/conda-forge", "https://repo.anaconda.com/pkgs/main"]
    (home / ".condarc").write_text(
        "default_channels:\n  - https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main\n"
        "custom_channels:\n  conda-forge: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/\n"
        "channel_alias: https://alias.example/\n")
    assert conda.channel_urls(["conda-forge", "defaults", "bioconda", "https://x.example/ch/"]) == [
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/conda-forge",
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main",
        "https://alias.example/bioconda",
        "https://x.example/ch",
    ]


def test_label_channels_go_through_custom_channels_like_conda(home: Path):
    """conda maps ``conda-forge/label/dev`` through ``custom_channels.conda-forge`` (longest listed prefix),
    so a label channel must come from the mirror too, not from the upstream alias."""
    (home / ".condarc").write_text("custom_channels:\n  conda-forge: https://mirrors.ustc.edu.cn/anaconda/cloud\n")
    assert conda.channel_urls(["conda-forge/label/dev", "bioconda/label/x"]) == [
        "https://mirrors.ustc.edu.cn/anaconda/cloud/conda-forge/label/dev",
        "https://conda.anaconda.org/bioconda/label/x",
    ]
