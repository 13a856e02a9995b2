"""Built-in simulated benches: real protocol servers on local sockets, with physics and faults.

    with Bench.start("smart-pole", faults=["low-power-factor"]) as bench:
        bench.endpoints    # {"modbus_tcp": "127.0.0.1:40213"}
        bench.site_text    # the bench's site document, pointing at those endpoints

A bench is defined by data (`benches/NAME.yaml`: devices, simulation models, device maps) and
comes with a site template (`benches/NAME.site.yaml`) whose `{modbus_tcp}` placeholders are
filled in when it starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from .definition import BenchDefinition, bench_path, list_benches, load_bench
from .fault import FAULTS, Fault, apply_faults, resolve_faults
from .modbus import ModbusTcpBench
from .physics import PoleSettings
from .pole import Pole

__all__ = ["FAULTS", "Bench", "Fault", "list_benches"]


class Bench:
    """A running bench. Build it with `Bench.start`; `stop()` may be called any number of times."""

    def __init__(
        self,
        *,
        definition: BenchDefinition,
        faults: tuple[Fault, ...],
        pole: Pole,
        server: ModbusTcpBench,
    ) -> None:
        self.definition = definition
        self.name = definition.name
        self.faults = tuple(f.name for f in faults)
        self.pole = pole
        self._server = server
        self.endpoints = {"modbus_tcp": server.endpoint}
        self.site_path: Path = definition.site_path
        text = self.site_path.read_text(encoding="utf-8")
        for key, value in self.endpoints.items():
            text = text.replace("{" + key + "}", value)
        self.site_text = text

    @classmethod
    def start(cls, name: str = "smart-pole", *, faults: Sequence[str] = ()) -> Bench:
        """Start the built-in bench `name` with the named faults injected."""
        if isinstance(faults, str):
            raise TypeError(f"faults= takes a list of names, like [{faults!r}]")
        chosen = resolve_faults(faults)  # before anything starts
        definition = load_bench(bench_path(name))
        pole = Pole(apply_faults(PoleSettings(), chosen))
        server = ModbusTcpBench(definition.devices, pole)
        server.start()
        try:
            return cls(definition=definition, faults=chosen, pole=pole, server=server)
        except BaseException:
            server.stop()
            raise

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Bench:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        faults = f" faults={list(self.faults)}" if self.faults else ""
        return f"<Bench {self.name} {self.endpoints}{faults}>"
