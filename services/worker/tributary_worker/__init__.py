"""The worker service: Dramatiq actors that run sync jobs against providers."""
