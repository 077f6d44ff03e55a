"""The one channel expander and the one .condarc merger, against conda's documented behaviour
(conda ``base/context.py`` custom_multichannels / custom_channels, ``models/channel.py`` Channel.from_value,
_get_channel_for_name and make_simple_channel, ``common/configuration.py`` merge; conda docs
"Using the .condarc conda configuration file": custom_channels, channel_alias, default_channels)."""

from __future__ import annotations

import pytest

from dlsetup.toolconfig import conda

ALIAS = "https://conda.anaconda.org"


@pytest.mark.parametrize("rc,names,urls", [
    ({}, ["conda-forge", "defaults"], [f"{ALIAS}/conda-forge", *conda.DEFAULT_CHANNELS_UNIX]),
    # channel_alias applies to every plain name (docs: "channel_alias ... prepended to channel names")
    ({"channel_alias": "https://m/anaconda/cloud/"}, ["bioconda"], ["https://m/anaconda/cloud/bioconda"]),
    # custom_channels value is the location without the name; label channels take the longest listed prefix
    ({"custom_channels": {"conda-forge": "https://m/cloud"}}, ["conda-forge/label/dev"],
     ["https://m/cloud/conda-forge/label/dev"]),
    ({"custom_channels": {"conda-forge": "https://a", "conda-forge/label": "https://b"}}, ["conda-forge/label/x"],
     ["https://b/conda-forge/label/x"]),
    # a multichannel name expands to its channels before custom_channels is consulted
    ({"custom_multichannels": {"conda-forge": ["https://prefix.dev/conda-forge"]},
      "custom_channels": {"conda-forge": "https://m/cloud"}}, ["conda-forge"], ["https://prefix.dev/conda-forge"]),
    # reserved overrides custom: defaults always comes from default_channels
    ({"custom_multichannels": {"defaults": ["https://x/pkgs/main"]}, "default_channels": ["https://y/pkgs/main"]},
     ["defaults"], ["https://y/pkgs/main"]),
    # default_channels entries without a scheme are relative to channel_alias (make_simple_channel)
    ({"channel_alias": "https://m/anaconda", "default_channels": ["pkgs/main"]}, ["defaults"],
     ["https://m/anaconda/pkgs/main"]),
    # the channels of default_channels become custom channels named by their URL path on the host
    # (make_simple_channel: location = scheme://host, name = path), which is how -c pkgs/main finds
    # repo.anaconda.com; a mirror's channel is then named anaconda/pkgs/main, so pkgs/main goes to the alias
    ({}, ["pkgs/main"], ["https://repo.anaconda.com/pkgs/main"]),
    ({"default_channels": ["https://m/anaconda/pkgs/main"]}, ["anaconda/pkgs/main", "pkgs/main"],
     ["https://m/anaconda/pkgs/main", f"{ALIAS}/pkgs/main"]),
    # URLs pass through
    ({}, ["https://x/y/"], ["https://x/y"]),
])
def test_channel_expansion(rc, names, urls):
    assert conda.channel_urls(names, rc) == urls


def test_msys2_is_a_default_channel_on_windows_only():
    assert conda.channel_urls(["defaults"], {}, system="windows")[-1] == "https://repo.anaconda.com/pkgs/msys2"
    assert len(conda.channel_urls(["defaults"], {}, system="linux")) == 2


def test_merge_follows_conda():
    low = ("/etc/conda/.condarc", {"channels": ["conda-forge", "defaults"], "channel_alias": "https://one",
                                   "custom_channels": {"a": "https://x"},
                                   "custom_multichannels": {"m": ["u1"]}})
    high = ("/home/li/.condarc", {"channels": ["bioconda", "conda-forge"], "channel_alias": "https://two",
                                  "custom_channels": {"b": "https://y"}, "custom_multichannels": {"m": ["u2", "u1"]}})
    env = ("env", {"channels": ["pytorch"]})
    merged = conda.merge([low, high, env])
    # sequences: higher precedence first, duplicates dropped; CONDA_CHANNELS is one more (highest) source
    assert merged["channels"] == ["pytorch", "bioconda", "conda-forge", "defaults"]
    assert merged["channel_alias"] == "https://two"  # scalars: highest wins
    assert merged["custom_channels"] == {"a": "https://x", "b": "https://y"}  # maps: by key
    assert merged["custom_multichannels"] == {"m": ["u2", "u1"]}  # map of sequences: merged per key


def test_conda_channels_variable_adds_in_front(monkeypatch, isolated_env):
    (isolated_env / ".condarc").write_text("channels:\n  - conda-forge\n")
    monkeypatch.setenv("CONDA_CHANNELS", "pytorch,nvidia")
    assert conda.load()["channels"] == ["pytorch", "nvidia", "conda-forge"]
