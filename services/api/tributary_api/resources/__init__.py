"""One module per resource concern; each exposes Falcon resource classes."""
