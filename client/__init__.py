"""``scriptserver``: the script server's command-line client (Channel Access only)."""
