"""A stateful GitLab REST API simulator that python-gitlab cannot tell from GitLab for the
endpoints gitlab-janitor uses. Stdlib only; serves on 127.0.0.1.

    inst = generate(seed=1, scale="small")
    with Simulator(inst) as sim:
        gl = gitlab.Gitlab(sim.url, private_token=TOKENS["admin"])
"""

from __future__ import annotations

import sys
from typing import TextIO

from janitor.simulator.generator import SCALES, Scale, generate
from janitor.simulator.server import Faults, RecordedRequest, Simulator
from janitor.simulator.state import TOKENS, Instance

__all__ = [
    "SCALES", "TOKENS", "Faults", "Instance", "RecordedRequest", "Scale", "Simulator", "generate", "serve",
]


def serve(instance: Instance, port: int = 8080, latency: float = 0.0, *,
          error_rate: float = 0.0, rate_limit: int | None = None, jobs_rate_limit: int | None = None,
          out: TextIO | None = None, gitlab_version: str | None = None) -> None:
    """Serve `instance` on 127.0.0.1:`port` until interrupted (Ctrl-C); `gitlab_version` emulates that
    older release (janitor.simulator.versions)."""
    stream = out or sys.stdout
    simulator = Simulator(instance, latency=latency, port=port, gitlab_version=gitlab_version)
    simulator.faults.error_rate = error_rate
    if rate_limit is not None or jobs_rate_limit is not None:
        simulator.rate_limit(rate_limit, jobs_rate_limit)
    jobs = len(instance.jobs)
    release = f", answering as GitLab {simulator.emulation.version}" if simulator.emulation.version else ""
    print(f"GitLab simulator: {simulator.url}  ({len(instance.projects)} projects, {jobs} jobs{release})",
          file=stream)
    # These are fixed public test strings for the loopback simulator, not secrets.
    for name, value in TOKENS.items():
        print(f"  token {name}: {value}", file=stream)
    stream.flush()
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
