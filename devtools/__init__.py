"""Developer tooling: the local stack, the signed-message sender, event generation (not deployed)."""
