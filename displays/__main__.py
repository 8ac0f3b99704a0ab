"""``python -m scriptserver.displays``: print the folder the display files are in."""
from .generate import FOLDER

print(FOLDER)
