"""lab.serve: one target in the foreground, for exploring it with curl."""

from __future__ import annotations

import time

from lab.backends import Backend
from lab.console import console
from lab.targets import Target

EXAMPLES = ("/ping", "/info", "/work?n=1000000", "/hash?iter=100000&offload=1",
            "/cpu?ms=200", "/sleep?ms=500")


def serve_foreground(backend: Backend, target: Target, port: int | None,
                     knobs: dict[str, str]) -> int | None:
    """Serve until Ctrl-C or until the server exits; returns its exit status."""
    with backend.serve(target, port=port, knobs=knobs) as server:
        base = f"http://{server.host}:{server.port}"
        console.print(f"[green]{target}[/green] is serving on [bold]{base}[/bold] "
                      f"({backend.name}, CPUs {backend.cpus.server_list}"
                      + (f", knobs {knobs}" if knobs else "") + ")")
        console.print("try:\n" + "\n".join(f"  curl -i '{base}{path}'" for path in EXAMPLES))
        console.print("Ctrl-C stops it.")
        try:
            while (status := server.wait_exit(timeout=0.5)) is None:
                time.sleep(0.1)
        except KeyboardInterrupt:
            console.print("\nstopping ...")
            return None
        console.print(f"[red]{target} exited by itself with status {status}[/red]\n"
                      f"{server.log_tail()}")
        return status
