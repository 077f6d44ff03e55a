"""TOML reading on every supported Python: the standard library's ``tomllib`` (3.11+), else ``tomli`` (3.10,
a declared dependency there). Import it where TOML is read, as the callers import ``tomllib`` lazily."""

try:
    import tomllib as _reader
except ModuleNotFoundError:  # Python 3.10
    import tomli as _reader  # type: ignore[no-redef]

loads = _reader.loads
TOMLDecodeError = _reader.TOMLDecodeError
