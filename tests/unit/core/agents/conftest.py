"""The tool fixtures (real store, real pool with in-process servers) for the runner's tests."""

from tests.unit.core.tools.conftest import pool, repo, service, smol, vault, vault_tools

__all__ = ["pool", "repo", "service", "smol", "vault", "vault_tools"]
