from tests.e2e.conftest import sim, simulator_server, stack

__all__ = ["sim", "simulator_server", "stack"]
