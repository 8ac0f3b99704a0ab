"""Displays for PyDM (.ui) and Phoebus (.bob), generated from the PV table."""
