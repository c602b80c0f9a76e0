"""``python -m tributary_simulator --host 127.0.0.1 --port 8900``"""

from __future__ import annotations

import argparse
import contextlib
import logging

from .server import SimulatorServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tributary_simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    server = SimulatorServer(args.host, args.port)
    logging.getLogger(__name__).info(
        "simulating %s at %s", ", ".join(sorted(server.state.providers)), server.url
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
