"""Use cases: one module per use case, one transaction per call, an audit event per write."""
