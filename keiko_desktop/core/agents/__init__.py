"""Agents: profiles, the runner (model -> tools -> model, one loop for chat and agents), the
middleware onion, the model pool, plans and their orchestrator, checkpoints and run traces."""
