"""Turn Pipfile.lock's "default" section into a `pip install --require-hashes` requirements file.

Stdlib only, so the image needs no pipenv: `python lock2req.py Pipfile.lock > requirements.txt`.
"""

import json
import sys


def requirements(lock: dict, section: str = "default") -> str:
    lines = []
    for name, spec in sorted(lock.get(section, {}).items()):
        if "version" not in spec or not spec.get("hashes"):
            # a VCS/path/unpinned entry cannot be hash-checked: refuse rather than install it unchecked
            raise SystemExit(f"lock2req: {name} has no pinned version with hashes in Pipfile.lock")
        extras = f"[{','.join(spec['extras'])}]" if spec.get("extras") else ""
        line = f"{name}{extras}{spec['version']}"
        if spec.get("markers"):
            line += f"; {spec['markers']}"
        hashes = " ".join(f"--hash={h}" for h in spec["hashes"])
        lines.append(f"{line} {hashes}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1] if len(sys.argv) > 1 else "Pipfile.lock") as handle:
        sys.stdout.write(requirements(json.load(handle)))
