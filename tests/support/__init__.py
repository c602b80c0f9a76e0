"""Unit-test doubles and harness shared by the simulator and connector tests."""
