"""The scheduler CLI: run by Kubernetes CronJobs (and by `make run` in a loop)."""
