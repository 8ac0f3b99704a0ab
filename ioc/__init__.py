"""The Channel Access face of the script server (caproto)."""
