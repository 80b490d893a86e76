"""lab.new-runtime: scaffold runtimes/NAME/ for a language, from templates/.

The folder holds a runtime.toml with every field of SPEC section 10 (TODO-marked values
to replace, optional fields as comments), a Dockerfile from Debian packages, a README and
a server skeleton that answers GET /ping. The lab discovers it at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lab import RUNTIMES_DIR
from lab.errors import LabError
from lab.targets import discover, runtime_dirs

TEMPLATES = Path(__file__).parent / "templates"
NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


@dataclass(frozen=True)
class Language:
    model: str
    files: dict[str, str]       # file -> what it is, for the README


LANGUAGES = {
    "python": Language("threaded", {"server.py": "the server: http.server's "
                                    "ThreadingHTTPServer, a thread per connection"}),
    "c": Language("threads", {"server.c": "the server: a POSIX thread per connection",
                              "Makefile": "builds build/server"}),
    "go": Language("goroutines", {"main.go": "the server: net/http, a goroutine per "
                                  "connection", "go.mod": "the module"}),
    "java": Language("virtual-threads", {
        "Server.java": "the server: com.sun.net.httpserver on a virtual thread per request",
        "build.sh": "builds build/classes with a JDK 21+ and links build/jdk to it"}),
}


def scaffold(name: str, language: str, runtimes_dir: Path = RUNTIMES_DIR) -> Path:
    """Write runtimes_dir/name/ for language; LabError (nothing written) when it cannot."""
    if language not in LANGUAGES:
        raise LabError(f"no skeleton for '{language}'",
                       hint=f"choose one of {', '.join(LANGUAGES)}")
    if not NAME.match(name):
        raise LabError(f"'{name}' cannot name a runtime",
                       hint="lowercase letters, digits and '-', starting with a letter "
                            "(it becomes the runtime part of target names)")
    folder = runtimes_dir / name
    if folder.exists():
        raise LabError(f"{folder} already exists", hint="choose another name, or remove it")
    if any(t.runtime.name == name for t in discover()):
        raise LabError(f"a runtime called '{name}' exists already",
                       hint="`uv run invoke lab.targets` lists them; choose another name")
    spec = LANGUAGES[language]
    rows = " |\n| ".join(f"`{file}` | {what}" for file, what in spec.files.items())
    values = {"@NAME@": name, "@LANGUAGE@": language, "@MODEL@": spec.model, "@FILES@": rows}
    sources = [*sorted((TEMPLATES / language).iterdir()), TEMPLATES / "README.md",
               TEMPLATES / "gitignore"]
    folder.mkdir(parents=True)
    for source in sources:
        text = source.read_text()
        for key, value in values.items():
            text = text.replace(key, value)
        target = folder / (".gitignore" if source.name == "gitignore" else source.name)
        target.write_text(text)
        if source.suffix == ".sh":
            target.chmod(0o755)
    return folder


def next_steps(folder: Path, language: str) -> list[str]:
    name, model = folder.name, LANGUAGES[language].model
    steps = []
    if folder.parent.resolve() not in {d.resolve() for d in runtime_dirs()}:
        steps.append(f"let the lab find it: export LAB_RUNTIMES_PATH={folder.parent.resolve()}")
    return [*steps,
            f"read {folder}/README.md and runtimes/SPEC.md (the contract)",
            f"replace every TODO in {folder}/runtime.toml",
            f"see it answer: uv run invoke lab.serve {name}/{model} --backend native "
            "(then curl the address it prints, /ping)",
            f"uv run invoke lab.verify --target {name} --backend native   (until it passes; "
            "then --backend docker)",
            "uv run invoke lab.all   (measures it beside every other target)"]
