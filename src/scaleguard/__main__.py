"""``python -m scaleguard`` runs the CLI."""

from scaleguard.cli.app import entrypoint

entrypoint()
