"""Configuration files and the demo instrument (commands and scripts)."""
