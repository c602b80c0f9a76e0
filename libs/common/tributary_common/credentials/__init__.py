"""Connection credentials: encryption at rest, the stored model, and refresh.

`box` encrypts and decrypts secrets (MultiFernet), `model` is a connection's credential
as the process that calls the provider sees it, `store` reads and writes it in the ledger
(compare-and-set on its version), `refresh` renews it once across every process.
"""
