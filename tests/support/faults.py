"""What every connector must make of the simulator's server and transport faults.

Each provider's test lists its own error bodies (auth, permissions, bad requests) and
adds `COMMON_FAULTS`, which mean the same for all six.
"""

from __future__ import annotations

from datetime import date

import pytest
from tributary_common.categories import ErrorCategory
from tributary_common.errors import ProviderError

from .harness import Harness
from .simulator import SimAdmin

COMMON_FAULTS = [
    ("server_error", None, ErrorCategory.UNKNOWN),
    ("malformed", None, ErrorCategory.UNKNOWN),
    ("bad_gateway", None, ErrorCategory.NETWORK_ERROR),
    ("unavailable", None, ErrorCategory.NETWORK_ERROR),
    ("reset", None, ErrorCategory.NETWORK_ERROR),
    ("truncated", None, ErrorCategory.NETWORK_ERROR),
    ("timeout", None, ErrorCategory.NETWORK_ERROR),
]


def assert_fault_category(
    sim: SimAdmin,
    harness: Harness,
    provider: str,
    fault: tuple[str, str | None, ErrorCategory],
    day: date,
) -> ProviderError:
    """A sync that meets ``fault`` (kind, variant, expected category) fails with that category;
    return the error."""
    kind, variant, category = fault
    sim.fault(provider, kind, variant=variant, delaySeconds=1.5)
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(day))
    assert failed.value.category is category
    return failed.value
