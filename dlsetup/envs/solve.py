"""py-rattler plumbing shared by the rattler backend and the lock solver: caches, solve, install, progress.

Caches are rattler's own (``$RATTLER_CACHE_DIR``, else ``~/.cache/rattler/cache``) so pixi and dlsetup
share downloaded packages. py-rattler 0.28.0 quirks handled here: ``solve`` needs the
virtual packages passed explicitly, and ``install(requested_specs=…)`` needs the wrapped PyMatchSpec.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    env = os.environ.get("RATTLER_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("rattler", appauthor=False)) / "cache"


def gateway(offline: bool = False):
    from rattler import Gateway, SourceConfig

    config = SourceConfig(cache_action="force-cache-only") if offline else SourceConfig()
    return Gateway(cache_dir=cache_root() / "repodata", default_config=config)


def validate_specs(specs: list[str], origins: dict[str, str] | None = None) -> None:
    """Every spec parses as conda parses it (``dlsetup.envs.matchspec``), or a UsageError names the bad one
    (and the file and line it came from, when it came from a file)."""
    from dlsetup.envs import matchspec
    from dlsetup.errors import UsageError

    for s in specs:
        try:
            matchspec.to_matchspec(s)
        except Exception as exc:  # noqa: BLE001 - SpecError, or rattler's parse errors
            where = (origins or {}).get(s)
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if where:
                raise UsageError("envs.error.bad_spec_at", spec=s, where=where, reason=reason) from None
            raise UsageError("envs.error.bad_spec", spec=s, reason=reason) from None


def conda_request(channel_urls: list[str], specs: list[str]) -> tuple[list[str], list]:
    """(channel URLs, rattler MatchSpecs) for a solve, as conda builds them.

    Specs are parsed with conda's grammar (lenient), and a ``channel::name`` spec adds its channel to the
    solve as conda's solver does, mapped through the user's configuration (so through their mirror) —
    the spec then names that URL, so it matches the records the mirror serves.
    """
    from dlsetup.envs import channels as chmod
    from dlsetup.envs import matchspec

    urls = list(channel_urls)
    out = []
    for s in specs:
        cs = matchspec.parse(s)
        channel_url = None
        if cs.channel and cs.channel != "nodefaults":
            mapped = chmod.channel_urls([cs.channel])
            channel_url = mapped[0] if mapped else None
            for u in mapped:
                if u not in urls:
                    urls.append(u)
        out.append(matchspec.to_matchspec(cs, channel_url))
    return urls, out


async def solve_records(channel_urls: list[str], specs: list[str], *, platform: str | None = None,
                        virtual_packages: list | None = None, offline: bool = False,
                        locked: list | None = None) -> list:
    """Solve ``specs`` against ``channel_urls`` for ``platform`` (+ noarch); returns RepoDataRecords."""
    from rattler import Channel, solve

    from dlsetup.envs.virtual import current_platform, for_platform

    target = platform or current_platform()
    vps = for_platform(target) if virtual_packages is None else virtual_packages
    platforms = [target] if target == "noarch" else [target, "noarch"]
    channel_urls, match_specs = conda_request(channel_urls, specs)
    return await solve([Channel(u) for u in channel_urls], match_specs, gateway=gateway(offline),
                       platforms=platforms, virtual_packages=vps, locked_packages=locked or None)


async def install_records(records: list, target: Path, *, final_prefix: Path | None = None,
                          requested_specs: list[str] | None = None, reporter=None,
                          installed: list | None = None) -> None:
    """Link ``records`` into ``target`` (patching ``final_prefix`` into files when it is a staging dir)."""
    from rattler import install

    from dlsetup.envs.matchspec import to_matchspec

    kwargs = dict(target_prefix=target, cache_dir=cache_root() / "pkgs", show_progress=False, reporter=reporter,
                  installed_packages=installed)
    if final_prefix is not None and Path(final_prefix) != Path(target):
        kwargs["alternative_target_prefix"] = final_prefix
    if requested_specs:
        try:
            # py-rattler 0.28.0 forwards this list unconverted: it needs the private PyMatchSpec
            kwargs["requested_specs"] = [to_matchspec(s)._match_spec for s in requested_specs]
        except (AttributeError, TypeError, ValueError):
            pass
    await install(records, **kwargs)


def record_package(record):
    """A rattler record → :class:`dlsetup.envs.model.Package` for results."""
    from dlsetup.envs.model import Package
    from dlsetup.util.redact import redact_url

    md5 = getattr(record, "md5", None)
    sha = getattr(record, "sha256", None)
    return Package(name=record.name.normalized, version=str(record.version), build=str(record.build),
                   channel=redact_url(str(record.channel or "").rstrip("/")), url=redact_url(record.url),
                   md5=md5.hex() if md5 else None, sha256=sha.hex() if sha else None,
                   size=getattr(record, "size", None))


class InstallProgress:
    """A rattler ``InstallerReporter`` that drives a rich progress display on stderr (download and link)."""

    def __init__(self, progress) -> None:
        from dlsetup.i18n import t

        self.progress = progress
        self.download = progress.add_task(t("envs.progress.download"), total=None, visible=False)
        self.link = progress.add_task(t("envs.progress.link"), total=None)
        self._sizes: dict[int, int] = {}
        self._done: dict[int, int] = {}
        self._next = 0

    def on_transaction_start(self, total_operations: int) -> None:
        self.progress.update(self.link, total=total_operations)

    def on_download_start(self, cache_entry: int) -> int:
        self._next += 1
        self.progress.update(self.download, visible=True)
        return self._next

    def on_download_progress(self, download_idx: int, progress: int, total: int | None) -> None:
        self._done[download_idx] = progress
        if total:
            self._sizes[download_idx] = total
        self.progress.update(self.download, completed=sum(self._done.values()),
                             total=sum(self._sizes.values()) or None)

    def on_download_completed(self, download_idx: int) -> None:
        if download_idx in self._sizes:
            self._done[download_idx] = self._sizes[download_idx]

    def on_link_complete(self, index: int) -> None:
        self.progress.advance(self.link)

    def on_unlink_complete(self, index: int) -> None:
        self.progress.advance(self.link)
