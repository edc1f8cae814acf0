"""Configuration and identity at the edge: which recon.toml applies, and which code is running."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import metadata, resources
from pathlib import Path

from transforms.rules import Rules, parse_rules

CODE_PACKAGES = ("flows", "transforms", "schemas")


def load_rules(data_dir: Path, config: Path | None) -> tuple[Rules, str]:
    """Read the rules: ``--config`` if given, else ``<data-dir>/recon.toml``, else the packaged default.

    Returns:
        The parsed rules and where they came from (for messages).

    Raises:
        FileNotFoundError: ``--config`` names no file.
        transforms.rules.RulesError: the file has problems (all of them listed).
    """
    if config is not None:
        return parse_rules(config.read_text(encoding="utf-8")), str(config)
    local = data_dir / "recon.toml"
    if local.is_file():
        return parse_rules(local.read_text(encoding="utf-8")), str(local)
    text = resources.files("flows").joinpath("recon.default.toml").read_text(encoding="utf-8")
    return parse_rules(text), "packaged default recon.toml"


@cache
def code_version() -> str:
    """``<package version>+<sha256 of our source files>``: a rerun with other code gets another run id."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for package in CODE_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    try:
        version = metadata.version("recon")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    return f"{version}+{digest.hexdigest()[:12]}"
