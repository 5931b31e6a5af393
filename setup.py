"""The one compiled piece: ``realtime._sendmany`` (the fan-out's sends, GIL released).

Everything else is in pyproject.toml. The extension is optional: without a C compiler
the install goes on and the hub writes through the event loop's transports instead.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("realtime._sendmany", ["realtime/_sendmany.c"], optional=True),
    ]
)
