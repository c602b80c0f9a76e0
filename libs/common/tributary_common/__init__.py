"""Shared library of Tributary: settings, ledger, queue contract, limiter, errors, metrics.

Depends on no service; every service depends on it.
"""
