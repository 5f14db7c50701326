"""How much an install of each runtime weighs: ``audar-plugins[onnx]`` against NeMo's.

    python benchmarks/install_size.py

Resolves each requirement's dependency closure (extras and environment markers
included) among the distributions installed in this environment and adds up the size
of their files, as pip installed them. Run it in an environment that has both
(the ``tests`` nox session's, or ``pip install -e .[onnx,nemo]``).
"""

from __future__ import annotations

import argparse
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

RUNTIMES = {
    "sortformer-onnx (audar-plugins[onnx])": "audar-plugins[onnx]",
    "sortformer on NeMo (nemo_toolkit[asr])": "nemo_toolkit[asr]",
}


def closure(requirement: str) -> dict[str, metadata.Distribution]:
    """The installed distributions ``requirement`` needs, by canonical name."""
    found: dict[str, metadata.Distribution] = {}
    pending = [Requirement(requirement)]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        wanted = pending.pop()
        name = canonicalize_name(wanted.name)
        key = (name, frozenset(wanted.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise SystemExit(f"{wanted} is not installed here: run this where both runtimes are installed") from None
        found[name] = distribution
        for line in distribution.requires or []:
            dependency = Requirement(line)
            for extra in {""} | set(wanted.extras):
                if dependency.marker is None or dependency.marker.evaluate({**default_environment(), "extra": extra}):
                    pending.append(dependency)
                    break
    return found


def installed_bytes(distribution: metadata.Distribution) -> int:
    total = 0
    for file in distribution.files or []:
        path = Path(str(distribution.locate_file(file)))
        if path.is_file():
            total += path.stat().st_size
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=5, help="largest distributions to list per runtime")
    args = parser.parse_args()
    sizes = {}
    for title, requirement in RUNTIMES.items():
        distributions = closure(requirement)
        each = sorted(((installed_bytes(d), name) for name, d in distributions.items()), reverse=True)
        sizes[title] = sum(size for size, _ in each)
        largest = ", ".join(f"{name} {size / 2**20:.0f}" for size, name in each[: args.top])
        print(f"{title}: {sizes[title] / 2**20:,.0f} MB in {len(each)} distributions (largest, MB: {largest})")
    onnx, nemo = sizes.values()
    print(f"the ONNX runtime's install is {onnx / nemo:.1%} of NeMo's ({nemo / onnx:.0f}x smaller)")


if __name__ == "__main__":
    main()
