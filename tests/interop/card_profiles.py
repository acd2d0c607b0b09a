"""The repository's card profiles as the interop scripts read them (independently of the
Rust loader): TOML with `extends` resolved, tables merged over the base."""

import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_profile(name):
    """The profile with `extends` resolved (tables merged over the base)."""
    t = tomllib.loads((ROOT / "card-profiles" / f"{name}.toml").read_text())
    base = t.pop("extends", None)
    if base is None:
        return t
    merged = load_profile(base)

    def merge(a, b):
        for k, v in b.items():
            if isinstance(v, dict) and isinstance(a.get(k), dict):
                merge(a[k], v)
            else:
                a[k] = v

    merge(merged, t)
    return merged
