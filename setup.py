"""One installable distribution; the top-level folders become ``scriptserver.*``."""
from setuptools import setup

PACKAGES = {
    "scriptserver.ioc": "ioc",
    "scriptserver.jobs": "jobs",
    "scriptserver.runner": "runner",
    "scriptserver.commands": "commands",
    "scriptserver.db": "db",
    "scriptserver.blocks": "blocks",
    "scriptserver.config": "config",
    "scriptserver.client": "client",
    "scriptserver.displays": "displays",
}
GUI = ["pydm>=1.18", "PyQt5>=5.15"]

setup(
    name="scriptserver",
    version="0.1.0",
    description="EPICS script server: queue, run and watch experiment jobs over Channel Access",
    python_requires=">=3.11",
    packages=list(PACKAGES),
    package_dir=PACKAGES,
    package_data={"scriptserver.config": ["*.yaml", "demo/commands/*.py", "demo/scripts/*.py"],
                  "scriptserver.displays": ["*.ui", "*.bob"]},
    install_requires=[
        "caproto>=1.3,<1.4",
        "pyyaml>=6",
        "numpy>=1.24",
        "pydantic>=2.5",
        "pvapy>=5",
        "pyflakes>=3",
        "psutil>=5.9",
        "ibex-non-ca-helpers>=0.1",
        "rich>=13",
    ],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6", "pyepics>=3.5", "p4p>=4.1", "epicscorelibs>=7",
                 *GUI],
        "gui": GUI,
        "bench": ["pyepics>=3.5", "epicscorelibs>=7"],
    },
    entry_points={"console_scripts": ["scriptserver-ioc=scriptserver.ioc.main:main",
                                      "scriptserver=scriptserver.client.cli:main"]},
)
